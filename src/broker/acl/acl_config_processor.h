#pragma once

// The plain-ACL admin commands (spec/acl.md §8): UPDATE_AND_CREATE_ACL_CONFIG
// (50), DELETE_ACL_CONFIG (51), GET_BROKER_CLUSTER_ACL_INFO (52) and
// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53). Writes rewrite plain_acl.yml through
// the validator (data version bumped) and take effect at once. Only admin
// accounts get here: the validator treats 50-53 as admin codes (acl.md §11.4).
// Registered only when aclEnable is on.
//
// Thread-safe (writes are serialised here); `ctx` and `validator` must outlive
// it.

#include "broker/acl/plain_access_validator.h"
#include "broker/request_processor.h"
#include "common/mutex.h"

namespace thruster::broker::acl {

class AclConfigProcessor final : public RequestProcessor {
 public:
  AclConfigProcessor(const BrokerContext& ctx, PlainAccessValidator& validator)
      : ctx_(ctx), validator_(validator) {}

  void ProcessRequest(remoting::RemotingCommand request,
                      remoting::Responder responder) override TH_EXCLUDES(mu_);

 private:
  void UpdateAccount(const remoting::RemotingCommand& req,
                     const remoting::Responder& r) TH_REQUIRES(mu_);
  void DeleteAccount(const remoting::RemotingCommand& req,
                     const remoting::Responder& r) TH_REQUIRES(mu_);
  void UpdateGlobalWhiteAddrs(const remoting::RemotingCommand& req,
                              const remoting::Responder& r) TH_REQUIRES(mu_);
  void GetAclInfo(const remoting::RemotingCommand& req,
                  const remoting::Responder& r);

  const BrokerContext& ctx_;
  PlainAccessValidator& validator_;
  Mutex mu_;  // one read-modify-write of the file at a time
};

}  // namespace thruster::broker::acl
