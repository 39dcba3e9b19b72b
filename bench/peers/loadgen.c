#include "loadgen.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void Usage(const char* prog) {
  fprintf(stderr,
          "usage: %s --port N [--host 127.0.0.1] [--producers P] [--inflight "
          "W] [--size B] [--messages N]\n"
          "          [--timeout S] [--target NAME] [--label TEXT] [--json] "
          "[--send-asap]\n",
          prog);
  exit(2);
}

static long long ParsePositive(const char* name, const char* v,
                               const char* prog) {
  char* end = NULL;
  long long n = strtoll(v, &end, 10);
  if (end == v || *end != '\0' || n <= 0) {
    fprintf(stderr, "%s: --%s must be a positive integer, got '%s'\n", prog,
            name, v);
    Usage(prog);
  }
  return n;
}

void ParseOptions(int argc, char** argv, Options* o, const char* prog) {
  static const struct option kLong[] = {
      {"host", required_argument, NULL, 'h'},
      {"port", required_argument, NULL, 'p'},
      {"producers", required_argument, NULL, 'P'},
      {"inflight", required_argument, NULL, 'w'},
      {"size", required_argument, NULL, 's'},
      {"messages", required_argument, NULL, 'n'},
      {"timeout", required_argument, NULL, 't'},
      {"target", required_argument, NULL, 'T'},
      {"label", required_argument, NULL, 'l'},
      {"json", no_argument, NULL, 'j'},
      {"send-asap", no_argument, NULL, 'a'},
      {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof(*o));
  o->host = "127.0.0.1";
  o->producers = 1;
  o->inflight = 1;
  o->size = 1024;
  o->messages = 100000;
  o->timeout_s = 300;
  o->target = "bench";
  o->label = prog;
  int c;
  while ((c = getopt_long(argc, argv, "", kLong, NULL)) != -1) {
    switch (c) {
      case 'h':
        o->host = optarg;
        break;
      case 'p':
        o->port = (int)ParsePositive("port", optarg, prog);
        break;
      case 'P':
        o->producers = (int)ParsePositive("producers", optarg, prog);
        break;
      case 'w':
        o->inflight = (int)ParsePositive("inflight", optarg, prog);
        break;
      case 's':
        o->size = (int)ParsePositive("size", optarg, prog);
        break;
      case 'n':
        o->messages = ParsePositive("messages", optarg, prog);
        break;
      case 't':
        o->timeout_s = (int)ParsePositive("timeout", optarg, prog);
        break;
      case 'T':
        o->target = optarg;
        break;
      case 'l':
        o->label = optarg;
        break;
      case 'j':
        o->json = 1;
        break;
      case 'a':
        o->send_asap = 1;
        break;
      default:
        Usage(prog);
    }
  }
  if (optind != argc || o->port == 0) Usage(prog);
  if (o->size < 16) {
    fprintf(stderr,
            "%s: --size must be at least 16 (the send time travels in the "
            "payload)\n",
            prog);
    exit(2);
  }
  if (o->messages < o->producers) {
    fprintf(stderr, "%s: --messages must be at least --producers\n", prog);
    exit(2);
  }
}

static volatile int timeout_seconds;

static void OnAlarm(int sig) {
  (void)sig;
  static const char kMsg[] =
      "load generator: run exceeded --timeout, giving up\n";
  ssize_t ignored = write(2, kMsg, sizeof(kMsg) - 1);
  (void)ignored;
  _exit(3);
}

void ArmTimeout(int seconds) {
  timeout_seconds = seconds;
  signal(SIGALRM, OnAlarm);
  alarm((unsigned)seconds);
}

int64_t NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

char* MakePayload(int size) {
  char* p = malloc((size_t)size);
  if (p == NULL) abort();
  uint32_t x = 2463534242u;  // xorshift32: cheap, fixed, incompressible enough
  for (int i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (char)('!' + x % 94);
  }
  return p;
}

static int BucketOf(uint64_t v) {
  if (v < (2u << kHistSubBits)) return (int)v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - kHistSubBits;  // >= 1
  int b = shift * (1 << kHistSubBits) + (int)(v >> shift);
  return b < kHistBuckets ? b : kHistBuckets - 1;
}

// Midpoint of bucket `b`, the inverse of BucketOf().
static int64_t ValueOf(int b) {
  if (b < (2 << kHistSubBits)) return b;
  int shift = b / (1 << kHistSubBits) - 1;
  int64_t m = b - shift * (1 << kHistSubBits);  // in [64, 128)
  return (m << shift) + ((1LL << shift) >> 1);
}

void HistRecord(Histogram* h, int64_t ns) {
  if (ns < 0) ns = 0;
  h->counts[BucketOf((uint64_t)ns)]++;
  h->total++;
  if (ns > h->max_ns) h->max_ns = ns;
}

void HistMerge(Histogram* into, const Histogram* from) {
  for (int i = 0; i < kHistBuckets; ++i) into->counts[i] += from->counts[i];
  into->total += from->total;
  if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

int64_t HistQuantile(const Histogram* h, double q) {
  if (h->total == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kHistBuckets; ++i) {
    seen += h->counts[i];
    if (seen >= rank) {
      int64_t v = ValueOf(i);
      return v < h->max_ns ? v : h->max_ns;
    }
  }
  return h->max_ns;
}

void PrintResult(const Options* o, const Histogram* h, long long acked,
                 long long errors, int64_t elapsed_ns) {
  double secs = (double)elapsed_ns / 1e9;
  double msgs_per_sec = secs > 0 ? (double)acked / secs : 0;
  double mb_per_sec = msgs_per_sec * o->size / (1024.0 * 1024.0);
  double p50 = (double)HistQuantile(h, 0.50) / 1000.0;
  double p99 = (double)HistQuantile(h, 0.99) / 1000.0;
  double p999 = (double)HistQuantile(h, 0.999) / 1000.0;
  double max = (double)h->max_ns / 1000.0;
  if (o->json) {
    printf(
        "{\"system\":\"%s\",\"producers\":%d,\"inflight\":%d,\"size\":%d,"
        "\"messages\":%lld,\"errors\":%lld,"
        "\"seconds\":%.3f,\"msgs_per_sec\":%.0f,\"mb_per_sec\":%.2f,\"p50_us\":"
        "%.1f,\"p99_us\":%.1f,"
        "\"p999_us\":%.1f,\"max_us\":%.1f}\n",
        o->label, o->producers, o->inflight, o->size, acked, errors, secs,
        msgs_per_sec, mb_per_sec, p50, p99, p999, max);
  } else {
    printf(
        "%s: %d producers x %d in flight, %d B: %lld msgs in %.2f s, %.0f "
        "msgs/s, %.1f MB/s, "
        "latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us, errors "
        "%lld\n",
        o->label, o->producers, o->inflight, o->size, acked, secs, msgs_per_sec,
        mb_per_sec, p50, p99, p999, max, errors);
  }
  fflush(stdout);
}
