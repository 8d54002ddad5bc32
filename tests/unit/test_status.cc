// Unit tests for service/edge/status.c: the one table from LANES_E* codes to gRPC statuses.
#include <gtest/gtest.h>

#include <string>

#include "lanes/error.h"
#include "status.h"

namespace {

TEST(Status, EveryCodeHasItsStatus)
{
    const struct {
        int code;
        lanes_status_t status;
    } table[] = {
        {LANES_OK, LANES_STATUS_OK},
        {LANES_EINVAL, LANES_STATUS_INVALID_ARGUMENT},
        {LANES_EEMPTY, LANES_STATUS_INVALID_ARGUMENT},
        {LANES_ENOMEM, LANES_STATUS_RESOURCE_EXHAUSTED},
        {LANES_ELIMIT, LANES_STATUS_RESOURCE_EXHAUSTED},
        {LANES_ENODEV, LANES_STATUS_UNAVAILABLE},
        {LANES_EDEVICE, LANES_STATUS_UNAVAILABLE},
        {LANES_EUNAVAIL, LANES_STATUS_UNAVAILABLE},
        {LANES_ENOTSUP, LANES_STATUS_FAILED_PRECONDITION},
        {LANES_EPRECOND, LANES_STATUS_FAILED_PRECONDITION},
        {LANES_ECANCELED, LANES_STATUS_CANCELLED},
        {LANES_ETIMEDOUT, LANES_STATUS_DEADLINE_EXCEEDED},
        {LANES_ENOTFOUND, LANES_STATUS_NOT_FOUND},
        {LANES_ENOSYS, LANES_STATUS_UNIMPLEMENTED},
        {LANES_EINTERNAL, LANES_STATUS_INTERNAL},
        {LANES_EUNKNOWN, LANES_STATUS_UNKNOWN},
        {-1000, LANES_STATUS_UNKNOWN},
        {7, LANES_STATUS_UNKNOWN},
    };
    for (const auto &t : table)
        EXPECT_EQ(lanes_status_from_error(t.code), t.status) << t.code << " (" << lanes_strerror(t.code) << ")";
}

TEST(Status, EveryCodeOfTheTableIsMappedOnPurpose)
{
    // A code added to LANES_ERRNO_MAP must get a row in status.c: only EUNKNOWN may map to UNKNOWN.
#define CHECK_ROW(name, code, text)                                                                      \
    if (LANES_##name != LANES_EUNKNOWN) {                                                                \
        EXPECT_NE(lanes_status_from_error(LANES_##name), LANES_STATUS_UNKNOWN) << #name << ": " << text; \
    }
    LANES_ERRNO_MAP(CHECK_ROW)
#undef CHECK_ROW
}

TEST(Status, Names)
{
    EXPECT_EQ(std::string(lanes_status_name(LANES_STATUS_FAILED_PRECONDITION)), "FAILED_PRECONDITION");
    EXPECT_EQ(std::string(lanes_status_name(LANES_STATUS_OK)), "OK");
    EXPECT_EQ(std::string(lanes_status_name((lanes_status_t)6)), "?");
}

} // namespace
