//===- RangeObservers.h - superseded by calibrate/Observer.h --------------===//
//
// The observers now live in Observer.h (one .cpp per method) with the same
// names; this header stays so existing includes keep compiling.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "calibrate/Observer.h"
