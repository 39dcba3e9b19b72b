#pragma once

#include <optional>
#include <utility>

#include "common/check.h"
#include "common/status.h"

namespace thruster {

// Either a T or a non-OK Status; shaped like std::expected<T, Status> (value(),
// operator*, ok(), status()).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status)
      : status_(std::move(status)) {  // NOLINT: implicit by design
    TH_CHECK(!status_.ok(), "Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    TH_CHECK(ok(), "Result::value() on error: {}", status_.ToString());
    return *value_;
  }
  const T& value() const& {
    TH_CHECK(ok(), "Result::value() on error: {}", status_.ToString());
    return *value_;
  }
  T&& value() && {
    TH_CHECK(ok(), "Result::value() on error: {}", status_.ToString());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace thruster

#define TH_CONCAT_INNER_(a, b) a##b
#define TH_CONCAT_(a, b) TH_CONCAT_INNER_(a, b)
// TH_ASSIGN_OR_RETURN(auto x, F()); returns F()'s status when it failed.
#define TH_ASSIGN_OR_RETURN(lhs, expr) \
  TH_ASSIGN_OR_RETURN_IMPL_(TH_CONCAT_(th_result__, __LINE__), lhs, expr)
#define TH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
