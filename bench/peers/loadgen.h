// Shared parts of the peer load generators (redis_produce.c, nats_produce.c):
// command-line options that mirror `thruster bench produce`, the message
// payload, a monotonic clock, the latency histogram and the result line. Plain
// C so that it builds against Debian's hiredis and libnats without the main
// CMake build.
#pragma once

#include <stdint.h>
#include <stdio.h>

// Options shared by both generators; parsed by ParseOptions(). A plain value
// type.
typedef struct {
  const char* host;  // --host, always 127.0.0.1 in bench/peers
  int port;          // --port
  int producers;     // --producers: connections, one thread each
  int inflight;      // --inflight: requests sent but not yet acknowledged, per
                     // connection
  int size;          // --size: payload bytes per message
  long long messages;  // --messages: total over all producers
  int timeout_s;  // --timeout: the process exits with status 3 when the run
                  // takes longer
  const char* target;  // --target: Redis stream key / NATS subject
  const char* label;   // --label: first column of the result line
  int json;       // --json: print one JSON object instead of the human line
  int send_asap;  // --send-asap: NATS only, write each publish at once instead
                  // of via the flusher thread
} Options;

// Fills `o` from argv; prints usage and exits with status 2 on a bad or unknown
// option.
void ParseOptions(int argc, char** argv, Options* o, const char* prog);

// Arms SIGALRM so that the whole process exits with status 3 and a message
// after `seconds`.
void ArmTimeout(int seconds);

// CLOCK_MONOTONIC in nanoseconds.
int64_t NowNs(void);

// A `size`-byte payload of printable bytes (so that no peer can compress it
// away); caller frees.
char* MakePayload(int size);

// Latency histogram, log-linear like HDR Histogram: exact below 128 ns, then 64
// linear sub-buckets per power of two, so any recorded value is reported within
// 1/64 (1.6 %) of itself. Covers up to 2^40 ns (18 minutes); larger values land
// in the last bucket. Not thread-safe: each producer owns one and they are
// merged at the end.
enum { kHistSubBits = 6, kHistBuckets = 64 * 36 };
typedef struct {
  uint64_t counts[kHistBuckets];
  uint64_t total;
  int64_t max_ns;
} Histogram;

void HistRecord(Histogram* h, int64_t ns);
void HistMerge(Histogram* into, const Histogram* from);
// The value (ns) at quantile q in [0, 1], as the midpoint of its bucket; 0 when
// empty.
int64_t HistQuantile(const Histogram* h, double q);

// Prints the result of a run: `acked` messages of `size` bytes acknowledged in
// `elapsed_ns`, `errors` failed. The human form is one line; --json prints one
// object with the same fields.
void PrintResult(const Options* o, const Histogram* h, long long acked,
                 long long errors, int64_t elapsed_ns);
