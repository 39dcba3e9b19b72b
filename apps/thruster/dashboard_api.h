#pragma once

// The JSON API behind `thruster dashboard`'s web UI: each call is one or a few
// AdminClient requests to the name server and brokers (nothing is cached),
// answered as JSON. It knows nothing of HTTP transport: dashboard_command.cc
// turns an HTTP request into an ApiRequest and writes the ApiResponse back, so
// the routes can be driven without a socket.
//
//   GET    /api/cluster                  brokers with their runtime info
//   GET    /api/topics                   every topic, with its kind
//   GET    /api/topic?topic=T            route and per-queue offsets
//   POST   /api/topic                    {topic, readQueueNums, writeQueueNums,
//                                         perm, order, cluster | brokerAddr}
//   DELETE /api/topic?topic=T            from every broker and the name server
//   GET    /api/groups                   consumer groups (from %RETRY% topics)
//                                         with lag, TPS and online clients
//   GET    /api/group?group=G[&topic=T]  per-queue progress and connections
//   POST   /api/group/resetOffset        {group, topic, timestamp, force}
//   GET    /api/messages/byKey?topic=T&key=K   (empty when none match)
//   GET    /api/messages/byId?id=ID[&topic=T]        (detail, with body)
//   GET    /api/messages/byOffset?topic=T&broker=B&queueId=Q&offset=O
//   GET    /api/dlq?group=G              what %DLQ%G holds (empty when none)
//   POST   /api/dlq/resend               {group, msgIds: [...]}
//
// Failures answer {"error": "..."}: 400 for bad input, 404 for what does not
// exist, 502 when a broker or name server failed.
#include <map>
#include <string>

#include "client/admin_client.h"

namespace thruster::cli {

struct ApiRequest {
  std::string method;                         // "GET", "POST", "DELETE"
  std::string path;                           // "/api/topics"
  std::map<std::string, std::string> params;  // decoded query parameters
  std::string body;                           // JSON for POST
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
};

// Thread-safe (AdminClient is): the HTTP server calls Handle() from its pool.
// `admin` must outlive this object.
class DashboardApi {
 public:
  explicit DashboardApi(client::AdminClient* admin) : admin_(admin) {}

  ApiResponse Handle(const ApiRequest& request) const;

 private:
  client::AdminClient* const admin_;
};

}  // namespace thruster::cli
