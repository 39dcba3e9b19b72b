#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

// A small etcd v3 client over etcd's JSON gateway (the grpc-gateway that every
// etcd 3.4+ serves on its client port under /v3/): leases, put, range, a
// compare-and-put transaction, delete. Keys and values are bytes; the client
// base64-encodes them as the gateway wants.
//
// Why the gateway and not gRPC: it needs no generated protos of etcd's API
// (Debian ships etcd's server, not its .proto files), and the election only
// makes a few small requests per second, so JSON over HTTP costs nothing that
// matters.
//
// Endpoints ("host:port", several separated by ',' or ';'): a request that
// cannot reach one endpoint moves to the next and retries there once round
// the list; an answer from etcd (even an error) does not fail over.
//
// Lifecycle: construct → use → destroy. Not thread-safe (callers serialise).
namespace thruster::ha {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

// One condition of a transaction: the key's create_revision, mod_revision or
// value compared for equality (a key that does not exist has revisions 0).
struct EtcdCompare {
  enum class Target { kCreateRevision, kModRevision, kValue };
  std::string key;
  Target target = Target::kModRevision;
  int64_t revision = 0;
  std::string value;
};

struct EtcdPut {
  std::string key;
  std::string value;
  int64_t lease = 0;  // 0: no lease
};

class EtcdClient {
 public:
  // `endpoints`: "127.0.0.1:2379,127.0.0.1:22379" (or ';'); `timeout_ms`
  // bounds each HTTP request (connect + answer).
  EtcdClient(const std::string& endpoints, int64_t timeout_ms);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Splits an endpoint list; empty entries are dropped.
  static std::vector<std::string> ParseEndpoints(const std::string& list);

  // A new lease of `ttl_seconds`; etcd may grant a longer TTL (its minimum),
  // so the granted one is returned in `granted_ttl_seconds`.
  Result<int64_t> LeaseGrant(int64_t ttl_seconds, int64_t* granted_ttl_seconds);
  // One keep-alive: the lease's remaining TTL in seconds; NotFound when the
  // lease has expired or was revoked.
  Result<int64_t> LeaseKeepAlive(int64_t lease);
  Status LeaseRevoke(int64_t lease);

  Status Put(const EtcdPut& put);
  // Every key starting with `prefix`, in key order.
  Result<std::vector<EtcdKeyValue>> RangePrefix(const std::string& prefix);
  // One key; nullopt when absent.
  Result<std::optional<EtcdKeyValue>> Get(const std::string& key);
  // Applies `puts` atomically if every compare holds: true when applied,
  // false when a compare failed (nothing written).
  Result<bool> Txn(const std::vector<EtcdCompare>& compares,
                   const std::vector<EtcdPut>& puts);
  Status Delete(const std::string& key);

  // The endpoint requests go to now.
  const std::string& current_endpoint() const;

  static std::string Base64Encode(const std::string& bytes);
  static Result<std::string> Base64Decode(const std::string& text);

 private:
  // POSTs `body` to `path`, failing over between endpoints; the answer's body
  // (HTTP 200), or the gateway's error message.
  Result<std::string> Post(const std::string& path, const std::string& body);

  struct Conn;
  std::vector<std::string> endpoints_;
  std::vector<std::unique_ptr<Conn>> conns_;
  size_t current_ = 0;
  int64_t timeout_ms_;
};

}  // namespace thruster::ha
