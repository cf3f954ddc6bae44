// The one assertion macro of the C++ tests: counts checks and failures, prints each failure, never aborts.
#pragma once

#include <cstdio>

static int gFailures = 0;
static int gChecks = 0;
#define CHECK(cond)                                                                                                \
    do                                                                                                             \
    {                                                                                                              \
        ++gChecks;                                                                                                 \
        if (!(cond))                                                                                               \
        {                                                                                                          \
            std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                            \
            ++gFailures;                                                                                           \
        }                                                                                                          \
    } while (0)
