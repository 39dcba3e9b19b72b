#pragma once

// Request codes (spec/remoting.md §3.1), response codes (§3.2), language codes
// (§2.7) and the version ordinals (§2.8) that travel in RemotingCommand
// headers. Plain int32 constants, because the wire carries any number and a
// processor table is keyed by whatever arrives.

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace thruster::remoting {

namespace request_code {
inline constexpr int32_t kSendMessage = 10;
inline constexpr int32_t kPullMessage = 11;
inline constexpr int32_t kQueryMessage = 12;
inline constexpr int32_t kQueryBrokerOffset = 13;
inline constexpr int32_t kQueryConsumerOffset = 14;
inline constexpr int32_t kUpdateConsumerOffset = 15;
inline constexpr int32_t kUpdateAndCreateTopic = 17;
inline constexpr int32_t kUpdateAndCreateTopicList = 18;
inline constexpr int32_t kGetAllTopicConfig = 21;
inline constexpr int32_t kUpdateBrokerConfig = 25;
inline constexpr int32_t kGetBrokerConfig = 26;
inline constexpr int32_t kGetBrokerRuntimeInfo = 28;
inline constexpr int32_t kSearchOffsetByTimestamp = 29;
inline constexpr int32_t kGetMaxOffset = 30;
inline constexpr int32_t kGetMinOffset = 31;
inline constexpr int32_t kGetEarliestMsgStoretime = 32;
inline constexpr int32_t kViewMessageById = 33;
inline constexpr int32_t kHeartBeat = 34;
inline constexpr int32_t kUnregisterClient = 35;
inline constexpr int32_t kConsumerSendMsgBack = 36;
inline constexpr int32_t kEndTransaction = 37;
inline constexpr int32_t kGetConsumerListByGroup = 38;
inline constexpr int32_t kCheckTransactionState = 39;
inline constexpr int32_t kNotifyConsumerIdsChanged = 40;
inline constexpr int32_t kLockBatchMq = 41;
inline constexpr int32_t kUnlockBatchMq = 42;
inline constexpr int32_t kGetAllConsumerOffset = 43;
inline constexpr int32_t kGetAllDelayOffset = 45;
inline constexpr int32_t kCheckClientConfig = 46;
// Plain ACL administration (spec/acl.md §8.1).
inline constexpr int32_t kUpdateAndCreateAclConfig = 50;
inline constexpr int32_t kDeleteAclConfig = 51;
inline constexpr int32_t kGetBrokerClusterAclInfo = 52;
inline constexpr int32_t kUpdateGlobalWhiteAddrsConfig = 53;
inline constexpr int32_t kPutKvConfig = 100;
inline constexpr int32_t kGetKvConfig = 101;
inline constexpr int32_t kDeleteKvConfig = 102;
inline constexpr int32_t kRegisterBroker = 103;
inline constexpr int32_t kUnregisterBroker = 104;
inline constexpr int32_t kGetRouteinfoByTopic = 105;
inline constexpr int32_t kGetBrokerClusterInfo = 106;
inline constexpr int32_t kUpdateAndCreateSubscriptionGroup = 200;
inline constexpr int32_t kGetAllSubscriptionGroupConfig = 201;
inline constexpr int32_t kGetTopicStatsInfo = 202;
inline constexpr int32_t kGetConsumerConnectionList = 203;
inline constexpr int32_t kGetProducerConnectionList = 204;
inline constexpr int32_t kWipeWritePermOfBroker = 205;
inline constexpr int32_t kGetAllTopicListFromNameserver = 206;
inline constexpr int32_t kDeleteSubscriptionGroup = 207;
inline constexpr int32_t kGetConsumeStats = 208;
inline constexpr int32_t kDeleteTopicInBroker = 215;
inline constexpr int32_t kDeleteTopicInNamesrv = 216;
inline constexpr int32_t kRegisterTopicInNamesrv = 217;
inline constexpr int32_t kGetKvlistByNamespace = 219;
inline constexpr int32_t kResetConsumerClientOffset = 220;
inline constexpr int32_t kGetConsumerStatusFromClient = 221;
inline constexpr int32_t kInvokeBrokerToResetOffset = 222;
inline constexpr int32_t kInvokeBrokerToGetConsumerStatus = 223;
inline constexpr int32_t kGetTopicsByCluster = 224;
inline constexpr int32_t kQueryTopicConsumeByWho = 300;
inline constexpr int32_t kGetSystemTopicListFromNs = 304;
inline constexpr int32_t kCleanExpiredConsumequeue = 306;
inline constexpr int32_t kGetConsumerRunningInfo = 307;
inline constexpr int32_t kConsumeMessageDirectly = 309;
inline constexpr int32_t kSendMessageV2 = 310;
inline constexpr int32_t kGetBrokerConsumeStats = 317;
inline constexpr int32_t kUpdateNamesrvConfig = 318;
inline constexpr int32_t kGetNamesrvConfig = 319;
inline constexpr int32_t kSendBatchMessage = 320;
inline constexpr int32_t kQueryDataVersion = 322;
inline constexpr int32_t kSendReplyMessage = 324;
inline constexpr int32_t kSendReplyMessageV2 = 325;
inline constexpr int32_t kPushReplyMessageToClient = 326;
inline constexpr int32_t kAddWritePermOfBroker = 327;
inline constexpr int32_t kGetTopicConfig = 351;
inline constexpr int32_t kLitePullMessage = 361;
// RECALL_MESSAGE [5.3]: cancel a timer message by its recall handle
// (spec/schedule-and-timer.md §7).
inline constexpr int32_t kRecallMessage = 370;
inline constexpr int32_t kBrokerHeartbeat = 904;
// GET_BROKER_HA_STATUS [5.x]: the master's slaves and their acks
// (HARuntimeInfo).
inline constexpr int32_t kGetBrokerHaStatus = 907;
// Thruster's own requests (20000 and up: no RocketMQ code there).
// TRACE_MESSAGE: a message's journey through the broker, JSON body
// (broker/message_journey.h).
inline constexpr int32_t kTraceMessage = 20001;
}  // namespace request_code

namespace response_code {
inline constexpr int32_t kSuccess = 0;
inline constexpr int32_t kSystemError = 1;
inline constexpr int32_t kSystemBusy = 2;
inline constexpr int32_t kRequestCodeNotSupported = 3;
inline constexpr int32_t kTransactionFailed = 4;
inline constexpr int32_t kFlushDiskTimeout = 10;
inline constexpr int32_t kSlaveNotAvailable = 11;
inline constexpr int32_t kFlushSlaveTimeout = 12;
inline constexpr int32_t kMessageIllegal = 13;
inline constexpr int32_t kServiceNotAvailable = 14;
inline constexpr int32_t kVersionNotSupported = 15;
inline constexpr int32_t kNoPermission = 16;
inline constexpr int32_t kTopicNotExist = 17;
inline constexpr int32_t kTopicExistAlready = 18;
inline constexpr int32_t kPullNotFound = 19;
inline constexpr int32_t kPullRetryImmediately = 20;
inline constexpr int32_t kPullOffsetMoved = 21;
inline constexpr int32_t kQueryNotFound = 22;
inline constexpr int32_t kSubscriptionParseFailed = 23;
inline constexpr int32_t kSubscriptionNotExist = 24;
inline constexpr int32_t kSubscriptionNotLatest = 25;
inline constexpr int32_t kSubscriptionGroupNotExist = 26;
inline constexpr int32_t kFilterDataNotExist = 27;
inline constexpr int32_t kFilterDataNotLatest = 28;
inline constexpr int32_t kInvalidParameter = 29;
inline constexpr int32_t kTransactionShouldCommit = 200;
inline constexpr int32_t kTransactionShouldRollback = 201;
inline constexpr int32_t kTransactionStateUnknow = 202;
inline constexpr int32_t kTransactionStateGroupWrong = 203;
inline constexpr int32_t kNoBuyerId = 204;
inline constexpr int32_t kNotInCurrentUnit = 205;
inline constexpr int32_t kConsumerNotOnline = 206;
inline constexpr int32_t kConsumeMsgTimeout = 207;
inline constexpr int32_t kNoMessage = 208;
// Answers to the ACL admin codes 50, 51 and 53 only (the numbers collide with
// the pop codes below; spec/acl.md §8.1).
inline constexpr int32_t kUpdateAndCreateAclConfigFailed = 209;
inline constexpr int32_t kDeleteAclConfigFailed = 210;
inline constexpr int32_t kUpdateGlobalWhiteAddrsConfigFailed = 211;
inline constexpr int32_t kPollingFull = 209;
inline constexpr int32_t kPollingTimeout = 210;
inline constexpr int32_t kBrokerNotExist = 211;
inline constexpr int32_t kBrokerDispatchNotComplete = 212;
inline constexpr int32_t kBroadcastConsumption = 213;
inline constexpr int32_t kFlowControl = 215;
inline constexpr int32_t kNotLeaderForQueue = 501;
inline constexpr int32_t kIllegalOperation = 604;
inline constexpr int32_t kGoAway = 1500;
}  // namespace response_code

// Sender language (§2.7). JSON headers carry the name, binary headers the
// number.
enum class LanguageCode : int8_t {
  kJava = 0,
  kCpp = 1,
  kDotnet = 2,
  kPython = 3,
  kDelphi = 4,
  kErlang = 5,
  kRuby = 6,
  kOther = 7,
  kHttp = 8,
  kGo = 9,
  kPhp = 10,
  kOms = 11,
  kRust = 12,
  kNodeJs = 13,
};

// "JAVA", "CPP", ... (the wire names).
std::string_view LanguageName(LanguageCode code);
// Unknown names map to kOther (§2.7).
LanguageCode LanguageFromName(std::string_view name);
// Unknown numbers map to kOther.
LanguageCode LanguageFromNumber(int64_t number);

// Version ordinals (§2.8).
inline constexpr int32_t kVersion4_9_4 = 401;
inline constexpr int32_t kVersion4_9_8 = 409;
// What Thruster reports in every header it writes (§10.19).
inline constexpr int32_t kThrusterVersion = kVersion4_9_8;

// The one place a Status becomes a response code: busy/exhausted → SYSTEM_BUSY,
// shutdown or a failed disk → SERVICE_NOT_AVAILABLE, OK → SUCCESS, everything
// else → SYSTEM_ERROR. Processors that need a more specific code
// (TOPIC_NOT_EXIST, ...) set it themselves.
int32_t ResponseCodeFromStatus(const Status& status);

}  // namespace thruster::remoting
