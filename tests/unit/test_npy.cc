// Unit tests of arrayio (clients/c/arrayio.h): .npy, raw and text arrays.
//
// Design: every test writes into its own temporary folder. .npy images that numpy would write (v1 and
// v2 headers, 2-D shapes, Fortran order, big-endian, converted and refused dtypes) are built byte by byte here,
// so the tests need no Python; the round trips go through arrayio's own writer and reader.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "arrayio.h"

namespace {

class ArrayIo : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/test_npy.XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override
    {
        for (const auto &p : files_)
            unlink(p.c_str());
        rmdir(dir_.c_str());
    }
    std::string Path(const std::string &name)
    {
        files_.push_back(dir_ + "/" + name);
        return files_.back();
    }
    std::string WriteFile(const std::string &name, const std::string &bytes)
    {
        std::string p = Path(name);
        FILE *f = fopen(p.c_str(), "wb");
        EXPECT_NE(f, nullptr);
        if (f) {
            fwrite(bytes.data(), 1, bytes.size(), f);
            fclose(f);
        }
        return p;
    }
    std::string ReadFile(const std::string &p)
    {
        std::string s;
        FILE *f = fopen(p.c_str(), "rb");
        EXPECT_NE(f, nullptr);
        if (!f)
            return s;
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            s.append(buf, n);
        fclose(f);
        return s;
    }

    std::string dir_;
    std::vector<std::string> files_;
};

// A .npy image as numpy writes it: magic, version, header length, dict padded with spaces to a
// multiple of 64 bytes and a newline, then the data.
std::string NpyImage(const std::string &dict, const std::string &data, int version = 1)
{
    size_t pre = version == 1 ? 10 : 12;
    std::string hdr = dict;
    size_t total = pre + hdr.size() + 1;
    total = (total + 63) / 64 * 64;
    hdr.append(total - pre - hdr.size() - 1, ' ');
    hdr.push_back('\n');
    std::string s("\x93NUMPY", 6);
    s.push_back(static_cast<char>(version));
    s.push_back('\0');
    size_t hl = hdr.size();
    s.push_back(static_cast<char>(hl & 0xff));
    s.push_back(static_cast<char>((hl >> 8) & 0xff));
    if (version != 1) {
        s.push_back(static_cast<char>((hl >> 16) & 0xff));
        s.push_back(static_cast<char>((hl >> 24) & 0xff));
    }
    return s + hdr + data;
}

template <typename T>
std::string Bytes(const std::vector<T> &v)
{
    return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

template <typename T>
std::vector<T> Values(const arrayio_array_t &a)
{
    std::vector<T> v(a.n);
    if (a.n)
        memcpy(v.data(), a.data, a.n * sizeof(T));
    return v;
}

struct Arr {
    arrayio_array_t a{};
    ~Arr() { arrayio_array_free(&a); }
};

// ---- round trips: every dtype through every format ----

TEST_F(ArrayIo, RoundTripEveryDtypeAndFormat)
{
    const std::vector<double> f64 = {0.0, -1.5, 3.141592653589793, 1e-300, -2.5e300, 0.1,
                                     std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::denorm_min()};
    const std::vector<float> f32 = {0.0f, -1.5f, 3.1415927f, 1e-38f, 0.1f, 16777217.0f, -7.25f};
    const std::vector<int64_t> i64 = {0, -1, INT64_MAX, INT64_MIN, 1234567890123456789LL};
    const std::vector<int32_t> i32 = {0, -1, INT32_MAX, INT32_MIN, 42};
    const struct {
        lanes_dtype_t dt;
        std::string bytes;
        size_t n;
    } cases[] = {
        {LANES_DTYPE_F64, Bytes(f64), f64.size()},
        {LANES_DTYPE_F32, Bytes(f32), f32.size()},
        {LANES_DTYPE_I64, Bytes(i64), i64.size()},
        {LANES_DTYPE_I32, Bytes(i32), i32.size()},
    };
    const arrayio_format_t fmts[] = {ARRAYIO_FORMAT_NPY, ARRAYIO_FORMAT_RAW, ARRAYIO_FORMAT_TEXT};
    for (const auto &c : cases) {
        for (arrayio_format_t fmt : fmts) {
            SCOPED_TRACE(std::string(lanes_dtype_name(c.dt)) + " " + arrayio_format_name(fmt));
            std::string p = Path(std::string("rt_") + lanes_dtype_name(c.dt) + "." + arrayio_format_name(fmt));
            lanes_error_t err{};
            ASSERT_EQ(arrayio_write_path(p.c_str(), fmt, c.dt, c.bytes.data(), c.n, &err), 0) << err.msg;
            Arr r;
            // npy carries its dtype; raw and text are told it.
            lanes_dtype_t dt = fmt == ARRAYIO_FORMAT_NPY ? LANES_DTYPE_INVALID : c.dt;
            ASSERT_EQ(arrayio_read_path(p.c_str(), fmt, dt, &r.a, &err), 0) << err.msg;
            EXPECT_EQ(r.a.dtype, c.dt);
            ASSERT_EQ(r.a.n, c.n);
            EXPECT_EQ(std::string(static_cast<const char *>(r.a.data), r.a.n * lanes_dtype_size(c.dt)),
                      c.bytes);
        }
    }
}

TEST_F(ArrayIo, NanRoundTripsThroughText)
{
    const std::vector<double> v = {std::nan(""), -std::numeric_limits<double>::infinity()};
    std::string p = Path("nan.txt");
    lanes_error_t err{};
    ASSERT_EQ(arrayio_write_path(p.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_F64, v.data(), v.size(), &err), 0);
    Arr r;
    ASSERT_EQ(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_F64, &r.a, &err), 0) << err.msg;
    auto got = Values<double>(r.a);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_TRUE(std::isnan(got[0]));
    EXPECT_EQ(got[1], -std::numeric_limits<double>::infinity());
}

TEST_F(ArrayIo, EmptyArrayRoundTrips)
{
    for (arrayio_format_t fmt : {ARRAYIO_FORMAT_NPY, ARRAYIO_FORMAT_RAW, ARRAYIO_FORMAT_TEXT}) {
        std::string p = Path(std::string("empty.") + arrayio_format_name(fmt));
        lanes_error_t err{};
        ASSERT_EQ(arrayio_write_path(p.c_str(), fmt, LANES_DTYPE_F64, nullptr, 0, &err), 0) << err.msg;
        Arr r;
        ASSERT_EQ(arrayio_read_path(p.c_str(), fmt, LANES_DTYPE_F64, &r.a, &err), 0) << err.msg;
        EXPECT_EQ(r.a.n, 0u);
        EXPECT_EQ(r.a.dtype, LANES_DTYPE_F64);
    }
}

// ---- the exact bytes written ----

TEST_F(ArrayIo, WritesTheNpyHeaderNumpyWrites)
{
    const std::vector<double> v = {1.0, 2.0, 3.0};
    std::string p = Path("w.npy");
    lanes_error_t err{};
    ASSERT_EQ(arrayio_write_path(p.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_F64, v.data(), 3, &err), 0);
    // np.save(f, np.array([1.0, 2.0, 3.0])) writes exactly this.
    EXPECT_EQ(ReadFile(p), NpyImage("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", Bytes(v)));
    std::string s = ReadFile(p);
    EXPECT_EQ((s.size() - 24) % 64, 0u); // data starts at a multiple of 64
}

TEST_F(ArrayIo, NpyHeaderVersion2)
{
    char buf[256];
    size_t n = arrayio_npy_header(buf, sizeof buf, LANES_DTYPE_I32, 7, 2);
    ASSERT_GT(n, 0u);
    EXPECT_EQ(n % 64, 0u);
    EXPECT_EQ(buf[6], 2);
    EXPECT_EQ(std::string(buf, n), NpyImage("{'descr': '<i4', 'fortran_order': False, 'shape': (7,), }", "", 2));
    EXPECT_EQ(arrayio_npy_header(buf, 16, LANES_DTYPE_F64, 7, 1), 0u);          // too small
    EXPECT_EQ(arrayio_npy_header(buf, sizeof buf, LANES_DTYPE_INVALID, 7, 1), 0u);
}

TEST_F(ArrayIo, WritesTextAsNumpyExpects)
{
    const std::vector<double> d = {0.1, 1.0 / 3.0, -2.0, 1e100};
    const std::vector<float> f = {0.1f, 1.0f / 3.0f};
    const std::vector<int64_t> i = {-5, 9007199254740993LL};
    std::string pd = Path("d.txt"), pf = Path("f.txt"), pi = Path("i.txt");
    lanes_error_t err{};
    ASSERT_EQ(arrayio_write_path(pd.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_F64, d.data(), d.size(), &err), 0);
    ASSERT_EQ(arrayio_write_path(pf.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_F32, f.data(), f.size(), &err), 0);
    ASSERT_EQ(arrayio_write_path(pi.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_I64, i.data(), i.size(), &err), 0);
    EXPECT_EQ(ReadFile(pd), "0.10000000000000001\n0.33333333333333331\n-2\n1e+100\n");
    EXPECT_EQ(ReadFile(pf), "0.100000001\n0.333333343\n");
    EXPECT_EQ(ReadFile(pi), "-5\n9007199254740993\n");
}

// ---- reading what numpy writes ----

TEST_F(ArrayIo, ReadsNpyVersion1And2)
{
    const std::vector<float> v = {1.5f, -2.5f};
    for (int version : {1, 2, 3}) {
        SCOPED_TRACE(version);
        std::string p = WriteFile("v" + std::to_string(version) + ".npy",
                                  NpyImage("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Bytes(v),
                                           version));
        Arr r;
        lanes_error_t err{};
        ASSERT_EQ(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r.a, &err), 0) << err.msg;
        EXPECT_EQ(r.a.dtype, LANES_DTYPE_F32);
        EXPECT_EQ(Values<float>(r.a), v);
    }
}

TEST_F(ArrayIo, ReadsAnyShapeFlat)
{
    std::vector<int64_t> v(6);
    for (int k = 0; k < 6; k++)
        v[k] = k * 10;
    const struct {
        const char *shape;
        size_t n;
    } shapes[] = {{"(6,)", 6}, {"(2, 3)", 6}, {"(3, 2)", 6}, {"(1, 2, 3)", 6}, {"(6, 1)", 6}, {"()", 1},
                  {"(0,)", 0}, {"(2, 0)", 0}};
    for (const auto &s : shapes) {
        SCOPED_TRACE(s.shape);
        std::string dict = std::string("{'descr': '<i8', 'fortran_order': False, 'shape': ") + s.shape + ", }";
        std::string p = WriteFile("shape.npy", NpyImage(dict, Bytes(v).substr(0, s.n * 8)));
        Arr r;
        lanes_error_t err{};
        ASSERT_EQ(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r.a, &err), 0) << err.msg;
        EXPECT_EQ(r.a.dtype, LANES_DTYPE_I64);
        EXPECT_EQ(Values<int64_t>(r.a), std::vector<int64_t>(v.begin(), v.begin() + s.n));
    }
}

TEST_F(ArrayIo, SniffsNpyWhateverTheName)
{
    const std::vector<double> v = {4.0, 5.0};
    std::string p = WriteFile("data.bin", NpyImage("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", Bytes(v)));
    Arr r;
    lanes_error_t err{};
    ASSERT_EQ(arrayio_read_path(p.c_str(), arrayio_format_from_path(p.c_str()), LANES_DTYPE_INVALID, &r.a, &err), 0)
        << err.msg;
    EXPECT_EQ(Values<double>(r.a), v);
}

TEST_F(ArrayIo, ReadsFromABufferAndAFileHandle)
{
    const std::vector<int32_t> v = {7, 8, 9};
    std::string img = NpyImage("{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (3,)}", Bytes(v));
    Arr r;
    lanes_error_t err{};
    ASSERT_EQ(arrayio_read_npy_buffer(img.data(), img.size(), "buf", &r.a, &err), 0) << err.msg;
    EXPECT_EQ(Values<int32_t>(r.a), v);

    std::string p = WriteFile("fh.npy", img);
    FILE *f = fopen(p.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    Arr r2;
    EXPECT_EQ(arrayio_read(f, "fh", ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r2.a, &err), 0) << err.msg;
    fclose(f);
    EXPECT_EQ(Values<int32_t>(r2.a), v);
}

// ---- what is refused, and how it is said ----

void ExpectNpyError(ArrayIo *t, const std::string &path, const std::string &needle)
{
    Arr r;
    lanes_error_t err{};
    EXPECT_NE(arrayio_read_path(path.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r.a, &err), 0);
    EXPECT_NE(std::string(err.msg).find(needle), std::string::npos) << "message: " << err.msg;
    EXPECT_EQ(r.a.data, nullptr);
    EXPECT_EQ(r.a.n, 0u);
}

TEST_F(ArrayIo, ConvertsBigEndianAndOtherDtypesAsThePythonClient)
{
    // lanes.wire_dtype(): big-endian swapped; bool, int8/16 and uint8/16 to int32; uint32 to int64;
    // uint64 to float64; float16 to float32.
    std::string be = WriteFile("be.npy", NpyImage("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
                                                  std::string("\x3f\xf8\0\0\0\0\0\0", 8)));
    Arr r;
    lanes_error_t err{};
    ASSERT_EQ(arrayio_read_path(be.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r.a, &err), 0) << err.msg;
    EXPECT_EQ(r.a.dtype, LANES_DTYPE_F64);
    EXPECT_EQ(Values<double>(r.a), std::vector<double>{1.5});
    EXPECT_STREQ(r.a.file_dtype, ">f8");

    std::string u1 = WriteFile("u1.npy", NpyImage("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }",
                                                  std::string("\x00\x7f\xff", 3)));
    Arr r1;
    ASSERT_EQ(arrayio_read_path(u1.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r1.a, &err), 0) << err.msg;
    EXPECT_EQ(r1.a.dtype, LANES_DTYPE_I32);
    EXPECT_EQ(Values<int32_t>(r1.a), (std::vector<int32_t>{0, 127, 255}));

    std::string u8 = WriteFile("u8.npy", NpyImage("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }",
                                                  std::string(8, '\xff')));
    Arr r8;
    ASSERT_EQ(arrayio_read_path(u8.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r8.a, &err), 0) << err.msg;
    EXPECT_EQ(r8.a.dtype, LANES_DTYPE_F64);
    EXPECT_EQ(Values<double>(r8.a), std::vector<double>{18446744073709551616.0});  // 2**64 - 1 rounded

    // float16: 1.0, -2.0, the smallest subnormal 2**-24, inf
    std::string f2 = WriteFile("f2.npy", NpyImage("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }",
                                                  std::string("\x00\x3c\x00\xc0\x01\x00\x00\x7c", 8)));
    Arr r2;
    ASSERT_EQ(arrayio_read_path(f2.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r2.a, &err), 0) << err.msg;
    EXPECT_EQ(r2.a.dtype, LANES_DTYPE_F32);
    EXPECT_EQ(Values<float>(r2.a),
              (std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24), std::numeric_limits<float>::infinity()}));
}

TEST_F(ArrayIo, ReordersFortranOrderToCOrder)
{
    // a (2, 3) array [[0, 1, 2], [3, 4, 5]] stored column by column
    const std::vector<double> cols = {0, 3, 1, 4, 2, 5};
    std::string p = WriteFile("f.npy", NpyImage("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                                                Bytes(cols)));
    Arr r;
    lanes_error_t err{};
    ASSERT_EQ(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r.a, &err), 0) << err.msg;
    EXPECT_EQ(Values<double>(r.a), (std::vector<double>{0, 1, 2, 3, 4, 5}));
    ASSERT_EQ(r.a.ndim, 2u);
    EXPECT_EQ(r.a.shape[0], 2u);
    EXPECT_EQ(r.a.shape[1], 3u);
}

TEST_F(ArrayIo, RejectsObjectComplexAndOtherDtypes)
{
    std::string p = WriteFile("o.npy", NpyImage("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                                                std::string(8, '\0')));
    ExpectNpyError(this, p, "object arrays ('|O') are not supported");
    std::string c = WriteFile("c.npy", NpyImage("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
                                                std::string(16, '\0')));
    ExpectNpyError(this, c, "complex data ('<c16') is not supported");
    std::string q = WriteFile("u3.npy", NpyImage("{'descr': '<u3', 'fortran_order': False, 'shape': (1,), }",
                                                 std::string(3, '\0')));
    ExpectNpyError(this, q, "dtype '<u3' is not supported (only float16, float32");
    std::string s = WriteFile("st.npy", NpyImage("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }",
                                                 std::string(8, '\0')));
    ExpectNpyError(this, s, "structured dtypes are not supported");
}

TEST_F(ArrayIo, WritesTheShape)
{
    const std::vector<int32_t> v = {1, 2, 3, 4, 5, 6};
    const size_t shape[] = {2, 1, 3};
    std::string p = Path("nd.npy");
    lanes_error_t err{};
    ASSERT_EQ(arrayio_write_path_nd(p.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_I32, v.data(), shape, 3, &err), 0)
        << err.msg;
    EXPECT_EQ(ReadFile(p), NpyImage("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 1, 3), }", Bytes(v)));
    Arr r;
    ASSERT_EQ(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r.a, &err), 0) << err.msg;
    ASSERT_EQ(r.a.ndim, 3u);
    EXPECT_EQ(r.a.shape[2], 3u);
    EXPECT_EQ(Values<int32_t>(r.a), v);
}

TEST_F(ArrayIo, BroadcastsAsNumpy)
{
    Arr a, b;
    const std::vector<double> av = {1, 2, 3}, bv = {10, 20};
    a.a.dtype = b.a.dtype = LANES_DTYPE_F64;
    a.a.ndim = 1, a.a.shape[0] = 3, a.a.n = 3, a.a.data = malloc(24);
    b.a.ndim = 2, b.a.shape[0] = 2, b.a.shape[1] = 1, b.a.n = 2, b.a.data = malloc(16);
    memcpy(a.a.data, av.data(), 24);
    memcpy(b.a.data, bv.data(), 16);
    const arrayio_array_t *arrays[] = {&a.a, &b.a};
    const char *names[] = {"a", "b"};
    size_t shape[ARRAYIO_MAX_DIMS], ndim = 0;
    lanes_error_t err{};
    ASSERT_EQ(arrayio_broadcast_shape(arrays, names, 2, shape, &ndim, &err), 0) << err.msg;
    ASSERT_EQ(ndim, 2u);
    EXPECT_EQ(shape[0], 2u);
    EXPECT_EQ(shape[1], 3u);
    ASSERT_EQ(arrayio_broadcast_to(&a.a, shape, ndim, "a", &err), 0) << err.msg;
    ASSERT_EQ(arrayio_broadcast_to(&b.a, shape, ndim, "b", &err), 0) << err.msg;
    EXPECT_EQ(Values<double>(a.a), (std::vector<double>{1, 2, 3, 1, 2, 3}));
    EXPECT_EQ(Values<double>(b.a), (std::vector<double>{10, 10, 10, 20, 20, 20}));
    Arr c;
    c.a.dtype = LANES_DTYPE_F64;
    c.a.ndim = 1, c.a.shape[0] = 4, c.a.n = 4, c.a.data = calloc(4, 8);
    const arrayio_array_t *bad[] = {&a.a, &c.a};
    const char *bad_names[] = {"a", "c"};
    EXPECT_NE(arrayio_broadcast_shape(bad, bad_names, 2, shape, &ndim, &err), 0);
    EXPECT_NE(std::string(err.msg).find("'a' has shape (2, 3), 'c' has shape (4,)"), std::string::npos) << err.msg;
}

TEST_F(ArrayIo, RejectsTruncatedFiles)
{
    const std::vector<double> v = {1, 2, 3, 4};
    std::string full = NpyImage("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", Bytes(v));
    ExpectNpyError(this, WriteFile("t1.npy", full.substr(0, full.size() - 1)),
                   "is truncated: its header promises 4 elements (32 bytes) but only 31 bytes follow");
    ExpectNpyError(this, WriteFile("t2.npy", full.substr(0, 40)), "truncated inside the .npy header");
    ExpectNpyError(this, WriteFile("t3.npy", full.substr(0, 9)), "truncated inside the .npy header");
    // The in-memory reader says the same.
    Arr r;
    lanes_error_t err{};
    EXPECT_NE(arrayio_read_npy_buffer(full.data(), full.size() - 8, "mem", &r.a, &err), 0);
    EXPECT_NE(std::string(err.msg).find("truncated"), std::string::npos) << err.msg;
}

TEST_F(ArrayIo, RejectsBadHeaders)
{
    ExpectNpyError(this, WriteFile("m.npy", "\x93NUMPZ\x01\x00\x00\x00"), "not a .npy file");
    ExpectNpyError(this, WriteFile("v9.npy", std::string("\x93NUMPY\x09\x00\x00\x00", 10)),
                   "format version 9.0 is not supported");
    ExpectNpyError(this, WriteFile("k.npy", NpyImage("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                                                     std::string(8, '\0'))),
                   "unexpected key 'x'");
    ExpectNpyError(this, WriteFile("s.npy", NpyImage("{'descr': '<f8', 'fortran_order': False}", "")), "no 'shape' key");
    ExpectNpyError(this, WriteFile("n.npy", NpyImage("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", "")),
                   "non-negative integers");
    ExpectNpyError(this, WriteFile("b.npy", NpyImage("['descr']", "")), "does not start with '{'");
    ExpectNpyError(this, WriteFile("o.npy",
                                   NpyImage("{'descr': '<f8', 'fortran_order': False, 'shape': "
                                            "(4294967296, 4294967296, 4294967296), }", "")),
                   "overflows");
}

TEST_F(ArrayIo, RejectsBadText)
{
    lanes_error_t err{};
    {
        std::string p = WriteFile("bad.txt", "1.5\n2.5 x7\n");
        Arr r;
        EXPECT_NE(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_F64, &r.a, &err), 0);
        EXPECT_NE(std::string(err.msg).find("line 2: 'x7' is not a valid float64"), std::string::npos) << err.msg;
    }
    {
        std::string p = WriteFile("badint.txt", "1 2\n3.5\n");
        Arr r;
        EXPECT_NE(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_I64, &r.a, &err), 0);
        EXPECT_NE(std::string(err.msg).find("line 2: '3.5' is not a valid int64"), std::string::npos) << err.msg;
    }
    {
        std::string p = WriteFile("range.txt", "2147483648\n");
        Arr r;
        EXPECT_NE(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_I32, &r.a, &err), 0);
        EXPECT_NE(std::string(err.msg).find("out of range for int32"), std::string::npos) << err.msg;
    }
    {
        std::string p = WriteFile("nul.txt", std::string("1\n\0\n", 4));
        Arr r;
        EXPECT_NE(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_TEXT, LANES_DTYPE_F64, &r.a, &err), 0);
        EXPECT_NE(std::string(err.msg).find("NUL byte"), std::string::npos) << err.msg;
    }
}

TEST_F(ArrayIo, ReadsTextWithCommasCommentsAndBlankLines)
{
    std::string p = WriteFile("ok.csv", "# values\n1, 2,3\n\n  -4.5e1\t6 # trailing\r\n+7\n");
    Arr r;
    lanes_error_t err{};
    ASSERT_EQ(arrayio_read_path(p.c_str(), arrayio_format_from_path(p.c_str()), LANES_DTYPE_INVALID, &r.a, &err), 0)
        << err.msg;
    EXPECT_EQ(r.a.dtype, LANES_DTYPE_F64); // the text default
    EXPECT_EQ(Values<double>(r.a), (std::vector<double>{1, 2, 3, -45, 6, 7}));
}

TEST_F(ArrayIo, RawNeedsADtypeAndWholeElements)
{
    std::string p = WriteFile("r.bin", std::string(12, '\0'));
    Arr r;
    lanes_error_t err{};
    EXPECT_NE(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_RAW, LANES_DTYPE_INVALID, &r.a, &err), 0);
    EXPECT_NE(std::string(err.msg).find("raw input needs a dtype"), std::string::npos) << err.msg;
    EXPECT_NE(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_RAW, LANES_DTYPE_F64, &r.a, &err), 0);
    EXPECT_NE(std::string(err.msg).find("holds 12 bytes, not a whole number of float64 elements"), std::string::npos)
        << err.msg;
    ASSERT_EQ(arrayio_read_path(p.c_str(), ARRAYIO_FORMAT_RAW, LANES_DTYPE_I32, &r.a, &err), 0) << err.msg;
    EXPECT_EQ(r.a.n, 3u);
}

TEST_F(ArrayIo, MissingFileAndUnwritablePath)
{
    Arr r;
    lanes_error_t err{};
    EXPECT_NE(arrayio_read_path((dir_ + "/nope.npy").c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_INVALID, &r.a, &err), 0);
    EXPECT_NE(std::string(err.msg).find("cannot open"), std::string::npos) << err.msg;
    double x = 1;
    EXPECT_NE(arrayio_write_path((dir_ + "/no/such/dir.npy").c_str(), ARRAYIO_FORMAT_NPY, LANES_DTYPE_F64, &x, 1, &err), 0);
    EXPECT_NE(std::string(err.msg).find("cannot create"), std::string::npos) << err.msg;
}

TEST(ArrayIoNames, FormatsAndDtypes)
{
    EXPECT_EQ(arrayio_format_from_path("a.npy"), ARRAYIO_FORMAT_NPY);
    EXPECT_EQ(arrayio_format_from_path("A.NPY"), ARRAYIO_FORMAT_NPY);
    EXPECT_EQ(arrayio_format_from_path("a.txt"), ARRAYIO_FORMAT_TEXT);
    EXPECT_EQ(arrayio_format_from_path("a.csv"), ARRAYIO_FORMAT_TEXT);
    EXPECT_EQ(arrayio_format_from_path("-"), ARRAYIO_FORMAT_TEXT);
    EXPECT_EQ(arrayio_format_from_path("a.bin"), ARRAYIO_FORMAT_RAW);
    arrayio_format_t f;
    EXPECT_EQ(arrayio_format_parse("npy", &f), 0);
    EXPECT_EQ(f, ARRAYIO_FORMAT_NPY);
    EXPECT_EQ(arrayio_format_parse("text", &f), 0);
    EXPECT_EQ(f, ARRAYIO_FORMAT_TEXT);
    EXPECT_NE(arrayio_format_parse("json", &f), 0);
    EXPECT_EQ(arrayio_dtype_parse("float64"), LANES_DTYPE_F64);
    EXPECT_EQ(arrayio_dtype_parse("float32"), LANES_DTYPE_F32);
    EXPECT_EQ(arrayio_dtype_parse("int64"), LANES_DTYPE_I64);
    EXPECT_EQ(arrayio_dtype_parse("i4"), LANES_DTYPE_I32);
    EXPECT_EQ(arrayio_dtype_parse("complex128"), LANES_DTYPE_INVALID);
}

} // namespace
