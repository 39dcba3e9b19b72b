// Redis Streams load generator: P connections, each keeping W pipelined `XADD
// <target> * d <payload>` commands in flight, until --messages are acknowledged
// in total. Latency runs from the moment a command is handed to the socket to
// the moment its reply is read; Redis answers a connection's commands in order,
// so each connection keeps its send times in a ring of W slots.
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

typedef struct {
  const Options* o;
  const char* payload;
  long long quota;  // messages this producer sends
  redisContext* c;
  Histogram hist;
  long long acked;
  long long errors;
  pthread_barrier_t* start;
} Producer;

static void Die(const char* what, redisContext* c) {
  fprintf(stderr, "redis_produce: %s: %s\n", what,
          c != NULL && c->err ? c->errstr : "out of memory");
  exit(1);
}

static void Flush(redisContext* c) {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(c, &done) != REDIS_OK) Die("write", c);
  }
}

// Counts one reply as acknowledged or failed (printing the first failure) and
// frees it.
static void CountReply(Producer* p, redisReply* r) {
  if (r->type != REDIS_REPLY_ERROR) {
    p->acked++;
  } else if (p->errors++ == 0) {
    fprintf(stderr, "redis_produce: XADD failed: %s\n", r->str);
  }
  freeReplyObject(r);
}

static void* Run(void* arg) {
  Producer* p = arg;
  const Options* o = p->o;
  redisContext* c = p->c;
  int64_t* sent_at = calloc((size_t)o->inflight, sizeof(int64_t));
  if (sent_at == NULL) abort();
  long long sent = 0;
  pthread_barrier_wait(p->start);
  while (p->acked + p->errors < p->quota) {
    int64_t now = NowNs();
    while (sent < p->quota && sent - (p->acked + p->errors) < o->inflight) {
      sent_at[sent % o->inflight] = now;
      if (redisAppendCommand(c, "XADD %s * d %b", o->target, p->payload,
                             (size_t)o->size) != REDIS_OK) {
        Die("append", c);
      }
      ++sent;
    }
    Flush(c);
    // Block for one reply, then take every other reply that arrived with it.
    void* reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK) Die("read", c);
    now = NowNs();
    do {
      long long done = p->acked + p->errors;
      HistRecord(&p->hist, now - sent_at[done % o->inflight]);
      CountReply(p, reply);
      reply = NULL;
      if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) Die("parse", c);
    } while (reply != NULL);
  }
  free(sent_at);
  return NULL;
}

int main(int argc, char** argv) {
  Options o;
  ParseOptions(argc, argv, &o, "redis_produce");
  ArmTimeout(o.timeout_s);
  char* payload = MakePayload(o.size);
  Producer* ps = calloc((size_t)o.producers, sizeof(Producer));
  pthread_t* threads = calloc((size_t)o.producers, sizeof(pthread_t));
  if (ps == NULL || threads == NULL) abort();
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)o.producers + 1);
  for (int i = 0; i < o.producers; ++i) {
    Producer* p = &ps[i];
    p->o = &o;
    p->payload = payload;
    p->quota =
        o.messages / o.producers + (i < o.messages % o.producers ? 1 : 0);
    p->start = &start;
    struct timeval tv = {5, 0};
    p->c = redisConnectWithTimeout(o.host, o.port, tv);
    if (p->c == NULL || p->c->err) Die("connect", p->c);
    if (pthread_create(&threads[i], NULL, Run, p) != 0) abort();
  }
  pthread_barrier_wait(&start);
  int64_t t0 = NowNs();
  Histogram all;
  memset(&all, 0, sizeof(all));
  long long acked = 0, errors = 0;
  for (int i = 0; i < o.producers; ++i) {
    pthread_join(threads[i], NULL);
    HistMerge(&all, &ps[i].hist);
    acked += ps[i].acked;
    errors += ps[i].errors;
  }
  int64_t elapsed = NowNs() - t0;
  PrintResult(&o, &all, acked, errors, elapsed);
  for (int i = 0; i < o.producers; ++i) redisFree(ps[i].c);
  free(ps);
  free(threads);
  free(payload);
  return errors == 0 ? 0 : 1;
}
