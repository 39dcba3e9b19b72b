#include "ha/etcd_client.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace thruster::ha {
namespace {

using Json = nlohmann::json;

// The gateway writes int64 fields as JSON strings; accept numbers as well.
int64_t EtcdJsonInt(const Json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

// The key just after every key with `prefix` (etcd's prefix range end).
std::string EtcdPrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

Json EtcdPutJson(const EtcdPut& put) {
  Json j = {{"key", EtcdClient::Base64Encode(put.key)},
            {"value", EtcdClient::Base64Encode(put.value)}};
  if (put.lease != 0) j["lease"] = std::to_string(put.lease);
  return j;
}

Result<Json> EtcdParse(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption("etcd answered with malformed JSON: " +
                              body.substr(0, 200));
  return j;
}

Result<EtcdKeyValue> EtcdKv(const Json& j) {
  EtcdKeyValue kv;
  Result<std::string> key =
      EtcdClient::Base64Decode(j.value("key", std::string()));
  if (!key.ok()) return key.status();
  Result<std::string> value =
      EtcdClient::Base64Decode(j.value("value", std::string()));
  if (!value.ok()) return value.status();
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  kv.create_revision = EtcdJsonInt(j, "create_revision");
  kv.mod_revision = EtcdJsonInt(j, "mod_revision");
  kv.lease = EtcdJsonInt(j, "lease");
  return kv;
}

}  // namespace

struct EtcdClient::Conn {
  explicit Conn(const std::string& endpoint) : http("http://" + endpoint) {}
  httplib::Client http;
};

EtcdClient::EtcdClient(const std::string& endpoints, int64_t timeout_ms)
    : endpoints_(ParseEndpoints(endpoints)), timeout_ms_(timeout_ms) {
  for (const std::string& e : endpoints_) {
    auto conn = std::make_unique<Conn>(e);
    const auto t = std::chrono::milliseconds(timeout_ms_);
    conn->http.set_connection_timeout(t);
    conn->http.set_read_timeout(t);
    conn->http.set_write_timeout(t);
    conn->http.set_keep_alive(true);
    conns_.push_back(std::move(conn));
  }
}

EtcdClient::~EtcdClient() = default;

std::vector<std::string> EtcdClient::ParseEndpoints(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',' || c == ';') {
      size_t b = cur.find_first_not_of(" \t");
      size_t e = cur.find_last_not_of(" \t");
      if (b != std::string::npos) {
        std::string ep = cur.substr(b, e - b + 1);
        if (ep.rfind("http://", 0) == 0) ep = ep.substr(7);
        while (!ep.empty() && ep.back() == '/') ep.pop_back();
        if (!ep.empty()) out.push_back(ep);
      }
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

const std::string& EtcdClient::current_endpoint() const {
  static const std::string kNone;
  return endpoints_.empty() ? kNone : endpoints_[current_];
}

std::string EtcdClient::Base64Encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> EtcdClient::Base64Decode(const std::string& text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0)
    return Status::Corruption("etcd sent base64 of bad length " +
                              std::to_string(text.size()));
  std::string out(text.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  if (n < 0) return Status::Corruption("etcd sent bad base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t len = static_cast<size_t>(n);
  if (text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

Result<std::string> EtcdClient::Post(const std::string& path,
                                     const std::string& body) {
  if (conns_.empty())
    return Status::InvalidArgument("etcdEndpoints names no endpoint");
  std::string last_error;
  for (size_t tried = 0; tried < conns_.size(); ++tried) {
    Conn& c = *conns_[current_];
    httplib::Result r = c.http.Post(path, body, "application/json");
    if (r) {
      Result<Json> j = EtcdParse(r->body);
      if (r->status == 200) return std::move(r->body);
      std::string message = "HTTP " + std::to_string(r->status);
      if (j.ok()) {
        // grpc-gateway errors: {"error": "...", "code": N, "message": "..."}.
        const Json& e = *j;
        if (e.contains("message") && e["message"].is_string())
          message += ": " + e["message"].get<std::string>();
        else if (e.contains("error") && e["error"].is_string())
          message += ": " + e["error"].get<std::string>();
      }
      if (message.find("not found") != std::string::npos)
        return Status::NotFound("etcd " + path + ": " + message);
      // etcd answered: an error of the request, not of the endpoint, unless
      // the member cannot serve (no leader, stopping).
      if (r->status < 500)
        return Status::InvalidArgument("etcd " + path + ": " + message);
      last_error = endpoints_[current_] + ": " + message;
    } else {
      last_error = endpoints_[current_] + ": " + httplib::to_string(r.error());
    }
    current_ = (current_ + 1) % conns_.size();
  }
  return Status::IOError("etcd " + path + " failed on every endpoint (last " +
                         last_error + ")");
}

Result<int64_t> EtcdClient::LeaseGrant(int64_t ttl_seconds,
                                       int64_t* granted_ttl_seconds) {
  Json req = {{"TTL", std::to_string(ttl_seconds)}, {"ID", "0"}};
  Result<std::string> body = Post("/v3/lease/grant", req.dump());
  if (!body.ok()) return body.status();
  Result<Json> j = EtcdParse(*body);
  if (!j.ok()) return j.status();
  const int64_t id = EtcdJsonInt(*j, "ID");
  if (id == 0)
    return Status::Corruption("etcd lease grant without an ID: " + *body);
  if (granted_ttl_seconds != nullptr)
    *granted_ttl_seconds = EtcdJsonInt(*j, "TTL");
  return id;
}

Result<int64_t> EtcdClient::LeaseKeepAlive(int64_t lease) {
  Json req = {{"ID", std::to_string(lease)}};
  Result<std::string> body = Post("/v3/lease/keepalive", req.dump());
  if (!body.ok()) return body.status();
  // A stream of one answer: {"result": {...}} or {"error": {...}}.
  Result<Json> j = EtcdParse(*body);
  if (!j.ok()) return j.status();
  if (j->contains("error"))
    return Status::NotFound("etcd lease keep-alive: " + (*j)["error"].dump());
  const Json& result = j->contains("result") ? (*j)["result"] : *j;
  const int64_t ttl = EtcdJsonInt(result, "TTL");
  if (ttl <= 0)
    return Status::NotFound("etcd lease " + std::to_string(lease) +
                            " has expired");
  return ttl;
}

Status EtcdClient::LeaseRevoke(int64_t lease) {
  Json req = {{"ID", std::to_string(lease)}};
  return Post("/v3/lease/revoke", req.dump()).status();
}

Status EtcdClient::Put(const EtcdPut& put) {
  return Post("/v3/kv/put", EtcdPutJson(put).dump()).status();
}

Result<std::vector<EtcdKeyValue>> EtcdClient::RangePrefix(
    const std::string& prefix) {
  Json req = {{"key", Base64Encode(prefix)},
              {"range_end", Base64Encode(EtcdPrefixEnd(prefix))}};
  Result<std::string> body = Post("/v3/kv/range", req.dump());
  if (!body.ok()) return body.status();
  Result<Json> j = EtcdParse(*body);
  if (!j.ok()) return j.status();
  std::vector<EtcdKeyValue> out;
  if (j->contains("kvs") && (*j)["kvs"].is_array()) {
    for (const Json& e : (*j)["kvs"]) {
      Result<EtcdKeyValue> kv = EtcdKv(e);
      if (!kv.ok()) return kv.status();
      out.push_back(std::move(*kv));
    }
  }
  return out;
}

Result<std::optional<EtcdKeyValue>> EtcdClient::Get(const std::string& key) {
  Json req = {{"key", Base64Encode(key)}};
  Result<std::string> body = Post("/v3/kv/range", req.dump());
  if (!body.ok()) return body.status();
  Result<Json> j = EtcdParse(*body);
  if (!j.ok()) return j.status();
  if (!j->contains("kvs") || !(*j)["kvs"].is_array() || (*j)["kvs"].empty())
    return std::optional<EtcdKeyValue>();
  Result<EtcdKeyValue> kv = EtcdKv((*j)["kvs"][0]);
  if (!kv.ok()) return kv.status();
  return std::optional<EtcdKeyValue>(std::move(*kv));
}

Result<bool> EtcdClient::Txn(const std::vector<EtcdCompare>& compares,
                             const std::vector<EtcdPut>& puts) {
  Json cmp = Json::array();
  for (const EtcdCompare& c : compares) {
    Json e = {{"key", Base64Encode(c.key)}, {"result", "EQUAL"}};
    switch (c.target) {
      case EtcdCompare::Target::kCreateRevision:
        e["target"] = "CREATE";
        e["create_revision"] = std::to_string(c.revision);
        break;
      case EtcdCompare::Target::kModRevision:
        e["target"] = "MOD";
        e["mod_revision"] = std::to_string(c.revision);
        break;
      case EtcdCompare::Target::kValue:
        e["target"] = "VALUE";
        e["value"] = Base64Encode(c.value);
        break;
    }
    cmp.push_back(std::move(e));
  }
  Json success = Json::array();
  for (const EtcdPut& p : puts)
    success.push_back({{"request_put", EtcdPutJson(p)}});
  Json req = {{"compare", cmp}, {"success", success}};
  Result<std::string> body = Post("/v3/kv/txn", req.dump());
  if (!body.ok()) return body.status();
  Result<Json> j = EtcdParse(*body);
  if (!j.ok()) return j.status();
  auto it = j->find("succeeded");
  return it != j->end() && it->is_boolean() && it->get<bool>();
}

Status EtcdClient::Delete(const std::string& key) {
  Json req = {{"key", Base64Encode(key)}};
  return Post("/v3/kv/deleterange", req.dump()).status();
}

}  // namespace thruster::ha
