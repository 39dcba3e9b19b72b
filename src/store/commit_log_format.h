#pragma once

// Transitional, for src/broker only: see store/message.h.
#include "message/commit_log_format.h"
#include "store/message.h"
