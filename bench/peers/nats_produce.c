// NATS JetStream load generator: P connections, each keeping W asynchronous
// publishes (js_PublishAsync) in flight, until --messages are acknowledged by
// the stream in total. Creates the stream <target> (file storage, one replica,
// subject <target>.msgs) when it does not exist yet. Each message carries its
// send time in its first 8 bytes, and the ack handler, which libnats runs on
// the connection's reply-delivery thread, turns it into a latency.
#include <nats/nats.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

typedef struct {
  const Options* o;
  const char* payload;
  const char* subject;
  long long quota;  // messages this producer sends
  natsConnection* nc;
  jsCtx* js;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  long long pending;  // published, not yet acknowledged; guarded by mu
  long long acked;    // guarded by mu
  long long errors;   // guarded by mu
  Histogram hist;  // only the ack handler (one thread per connection) writes it
  pthread_barrier_t* start;
} Producer;

static void Check(natsStatus s, const char* what) {
  if (s == NATS_OK) return;
  fprintf(stderr, "nats_produce: %s: %s (%s)\n", what, natsStatus_GetText(s),
          nats_GetLastError(NULL));
  exit(1);
}

static void OnAck(jsCtx* js, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                  void* closure) {
  (void)js;
  Producer* p = closure;
  int64_t now = NowNs();
  int64_t sent_at;
  memcpy(&sent_at, natsMsg_GetData(msg), sizeof(sent_at));
  HistRecord(&p->hist, now - sent_at);
  // Before the unlock below: once the last ack is counted, main may tear the
  // library down.
  natsMsg_Destroy(msg);
  pthread_mutex_lock(&p->mu);
  if (pa != NULL) {
    p->acked++;
  } else if (p->errors++ == 0) {
    fprintf(stderr, "nats_produce: publish failed: %s\n",
            pae != NULL && pae->ErrText != NULL
                ? pae->ErrText
                : natsStatus_GetText(pae ? pae->Err : NATS_ERR));
  }
  p->pending--;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void* Run(void* arg) {
  Producer* p = arg;
  const Options* o = p->o;
  char* buf = malloc((size_t)o->size);
  if (buf == NULL) abort();
  memcpy(buf, p->payload, (size_t)o->size);
  pthread_barrier_wait(p->start);
  for (long long i = 0; i < p->quota; ++i) {
    pthread_mutex_lock(&p->mu);
    while (p->pending >= o->inflight) pthread_cond_wait(&p->cv, &p->mu);
    p->pending++;
    pthread_mutex_unlock(&p->mu);
    int64_t now = NowNs();
    memcpy(buf, &now, sizeof(now));
    Check(js_PublishAsync(p->js, p->subject, buf, o->size, NULL), "publish");
  }
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0) pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
  free(buf);
  return NULL;
}

static void Connect(const Options* o, Producer* p) {
  char url[256];
  snprintf(url, sizeof(url), "nats://%s:%d", o->host, o->port);
  natsOptions* opts = NULL;
  Check(natsOptions_Create(&opts), "options");
  Check(natsOptions_SetURL(opts, url), "url");
  if (o->send_asap) Check(natsOptions_SetSendAsap(opts, true), "send asap");
  Check(natsConnection_Connect(&p->nc, opts), "connect");
  natsOptions_Destroy(opts);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.AckHandler = OnAck;
  jo.PublishAsync.AckHandlerClosure = p;
  // Flow control is ours (Run waits for pending < W); this is only a backstop,
  // since libnats may still count a message as pending while its ack handler
  // runs.
  jo.PublishAsync.MaxPending = 2LL * o->inflight + 1;
  jo.PublishAsync.StallWait = (int64_t)o->timeout_s * 1000;
  Check(natsConnection_JetStream(&p->js, p->nc, &jo), "jetstream context");
}

// Creates the stream unless it exists (a later run against the same server
// appends to it).
static void EnsureStream(jsCtx* js, const char* name, const char* subject) {
  jsStreamInfo* si = NULL;
  jsErrCode jerr = 0;
  if (js_GetStreamInfo(&si, js, name, NULL, &jerr) == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return;
  }
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name;
  cfg.Subjects = &subject;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = 1;
  Check(js_AddStream(&si, js, &cfg, NULL, &jerr), "add stream");
  jsStreamInfo_Destroy(si);
}

int main(int argc, char** argv) {
  Options o;
  ParseOptions(argc, argv, &o, "nats_produce");
  ArmTimeout(o.timeout_s);
  Check(nats_Open(-1), "init");
  char subject[256];
  snprintf(subject, sizeof(subject), "%s.msgs", o.target);
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
    p->subject = subject;
    p->quota =
        o.messages / o.producers + (i < o.messages % o.producers ? 1 : 0);
    p->start = &start;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    Connect(&o, p);
    if (i == 0) EnsureStream(p->js, o.target, subject);
    if (pthread_create(&threads[i], NULL, Run, p) != 0) abort();
  }
  pthread_barrier_wait(&start);
  int64_t t0 = NowNs();
  Histogram all;
  memset(&all, 0, sizeof(all));
  long long acked = 0, errors = 0;
  for (int i = 0; i < o.producers; ++i) {
    pthread_join(threads[i], NULL);
    pthread_mutex_lock(&ps[i].mu);  // the ack handler's last writes happen
                                    // before its final unlock
    HistMerge(&all, &ps[i].hist);
    acked += ps[i].acked;
    errors += ps[i].errors;
    pthread_mutex_unlock(&ps[i].mu);
  }
  int64_t elapsed = NowNs() - t0;
  PrintResult(&o, &all, acked, errors, elapsed);
  for (int i = 0; i < o.producers; ++i) {
    jsCtx_Destroy(ps[i].js);
    natsConnection_Destroy(ps[i].nc);
  }
  nats_Close();
  free(ps);
  free(threads);
  free(payload);
  return errors == 0 ? 0 : 1;
}
