// Compiled in the store layer's include context, this must fail: the broker layer is above the store, so its
// headers are not on the store's include path.
#include "broker/broker.h"
