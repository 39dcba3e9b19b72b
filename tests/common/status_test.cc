#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "common/result.h"

namespace thruster {
namespace {

TEST(StatusTest, OkIsOk) {
  Status s = Status::OK();
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, IOErrorKeepsErrnoAndContext) {
  Status s = Status::IOError("fsync /x", ENOSPC);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(s.os_error(), ENOSPC);
  EXPECT_NE(s.ToString().find("fsync /x"), std::string::npos);
  EXPECT_NE(s.ToString().find("IOError"), std::string::npos);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  TH_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ResultTest, AssignOrReturnPropagatesError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace thruster
