//===- TensorIO.cpp - .npy/.npz/TensorProto readers and writers ------------===//
//
// Everything read here comes from users' files, so every size and offset is
// checked against what the file really holds before it is used (never allocate
// what a header claims before knowing the bytes exist). Errors are IoError with
// "<path>: <problem>".
//
//===----------------------------------------------------------------------===//
#include "calibrate/TensorIO.h"

#include <onnx/onnx_pb.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

namespace ds::io {
namespace {

using rt::DType;
using rt::Shape;
using rt::Tensor;

/// numpy's largest accepted header is configurable; ours is fixed (a real
/// header is ~100 bytes, a larger one is a corrupt or hostile file).
constexpr size_t kMaxNpyHeader = 64 * 1024;
constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicLen = 6;

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw IoError(where + ": " + what);
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

std::ifstream openForRead(const std::string &path, uint64_t &size) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    fail(path, "no such file");
  if (std::filesystem::is_directory(status))
    fail(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto end = in.tellg();
  in.seekg(0, std::ios::beg);
  if (end < 0 || !in)
    fail(path, "cannot determine file size");
  size = static_cast<uint64_t>(end);
  return in;
}

std::string readWholeFile(const std::string &path) {
  uint64_t size = 0;
  std::ifstream in = openForRead(path, size);
  if (size > std::numeric_limits<size_t>::max() / 2)
    fail(path, "file too large");
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size && !in.read(bytes.data(), static_cast<std::streamsize>(size)))
    fail(path, "read error");
  return bytes;
}

std::ofstream openForWrite(const std::string &path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  return out;
}

void finishWrite(std::ofstream &out, const std::string &path) {
  out.flush();
  if (!out)
    fail(path, "write failed");
  out.close();
  if (out.fail())
    fail(path, "write failed (close)");
}

/// Element count and byte size of `shape` in `dtype`, or an IoError.
void checkedSizes(const std::string &where, const Shape &shape, DType dtype,
                  int64_t &numel, uint64_t &bytes) {
  try {
    numel = rt::shapeNumel(shape);
  } catch (const rt::Error &) {
    fail(where, "element count overflow for shape " + rt::shapeToString(shape));
  }
  uint64_t elem = rt::dtypeSize(dtype);
  if (elem && static_cast<uint64_t>(numel) >
                  static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elem)
    fail(where, "byte size overflow for shape " + rt::shapeToString(shape));
  bytes = static_cast<uint64_t>(numel) * elem;
}

Tensor allocate(const std::string &where, DType dtype, const Shape &shape) {
  try {
    return Tensor(dtype, shape);
  } catch (const rt::Error &e) {
    fail(where, e.what());
  }
}

/// Kernels assume bool elements are exactly 0 or 1; files may hold any nonzero byte.
void normalizeBools(Tensor &t) {
  if (t.dtype() != DType::Bool)
    return;
  auto *p = static_cast<uint8_t *>(t.mutableRawData());
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = p[i] != 0;
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

struct NpyDescr {
  const char *descr;
  DType dtype;
};
// Little-endian (or byte-order-free) descriptors we write and accept.
constexpr NpyDescr kNpyDescrs[] = {
    {"<f4", DType::F32}, {"<f8", DType::F64}, {"<f2", DType::F16},
    {"|i1", DType::I8},  {"|u1", DType::U8},  {"<i2", DType::I16},
    {"<u2", DType::U16}, {"<i4", DType::I32}, {"<u4", DType::U32},
    {"<i8", DType::I64}, {"<u8", DType::U64}, {"|b1", DType::Bool},
};

DType dtypeFromDescr(const std::string &where, const std::string &descr) {
  if (descr.size() == 3) {
    char order = descr[0];
    std::string kindSize = descr.substr(1);
    bool oneByte = kindSize[1] == '1';
    // '=' is native order: little-endian on every host we build for.
    bool little = order == '<' || order == '=' || (oneByte && (order == '|' || order == '>'));
    if (little) {
      for (const NpyDescr &d : kNpyDescrs)
        if (kindSize == d.descr + 1)
          return d.dtype;
    } else if (order == '>') {
      fail(where, "unsupported dtype '" + descr + "' (big-endian)");
    }
  }
  fail(where, "unsupported dtype '" + descr + "'");
}

const char *descrForDType(const std::string &where, DType dtype) {
  for (const NpyDescr &d : kNpyDescrs)
    if (d.dtype == dtype)
      return d.descr;
  fail(where, std::string("unsupported dtype ") + rt::dtypeName(dtype) +
                  " for .npy");
}

/// A parser for the Python dict literal of an .npy header, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class NpyHeaderParser {
public:
  NpyHeaderParser(const std::string &where, const std::string &text)
      : where_(where), s_(text) {}

  void parse(std::string &descr, bool &fortran, Shape &shape) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    skipSpace();
    expect('{');
    while (true) {
      skipSpace();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      std::string key = parseString();
      skipSpace();
      expect(':');
      skipSpace();
      if (key == "descr") {
        if (peek() == '[')
          fail(where_, "unsupported dtype (structured array)");
        descr = parseString();
        haveDescr = true;
      } else if (key == "fortran_order") {
        fortran = parseBool();
        haveFortran = true;
      } else if (key == "shape") {
        shape = parseShape();
        haveShape = true;
      } else {
        fail(where_, "bad header: unexpected key '" + key + "'");
      }
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skipSpace();
      expect('}');
      break;
    }
    skipSpace();
    if (pos_ != s_.size())
      fail(where_, "bad header: trailing characters");
    if (!haveDescr || !haveFortran || !haveShape)
      fail(where_, "bad header: missing 'descr', 'fortran_order' or 'shape'");
  }

private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c)
      fail(where_, std::string("bad header: expected '") + c + "'");
    ++pos_;
  }
  std::string parseString() {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      fail(where_, "bad header: expected a string");
    size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos)
      fail(where_, "bad header: unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parseBool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail(where_, "bad header: fortran_order is not True/False");
  }
  Shape parseShape() {
    Shape shape;
    expect('(');
    while (true) {
      skipSpace();
      if (peek() == ')') {
        ++pos_;
        return shape;
      }
      if (peek() < '0' || peek() > '9')
        fail(where_, "bad header: shape must be a tuple of non-negative integers");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        int digit = peek() - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10)
          fail(where_, "bad header: dimension too large");
        v = v * 10 + digit;
        ++pos_;
      }
      if (peek() == 'L') // Python 2 long suffix
        ++pos_;
      shape.push_back(v);
      if (shape.size() > 64)
        fail(where_, "bad header: rank above 64");
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skipSpace();
      expect(')');
      return shape;
    }
  }

  const std::string &where_;
  const std::string &s_;
  size_t pos_ = 0;
};

struct NpyHeader {
  DType dtype;
  Shape shape;
  size_t dataOffset; // bytes from the start of the .npy data
  uint64_t dataBytes;
  int64_t numel;
};

/// Parses the preamble and header at `p` (of which `avail` bytes are present).
NpyHeader parseNpyHeader(const std::string &where, const uint8_t *p, size_t avail) {
  if (avail < kNpyMagicLen || std::memcmp(p, kNpyMagic, kNpyMagicLen) != 0)
    fail(where, "bad magic (not an .npy file)");
  if (avail < 10)
    fail(where, "truncated header");
  uint8_t major = p[6];
  size_t headerLen = 0, prefix = 0;
  if (major == 1) {
    headerLen = p[8] | (size_t(p[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (avail < 12)
      fail(where, "truncated header");
    headerLen = p[8] | (size_t(p[9]) << 8) | (size_t(p[10]) << 16) | (size_t(p[11]) << 24);
    prefix = 12;
  } else {
    fail(where, "unsupported .npy format version " + std::to_string(major) + "." +
                    std::to_string(p[7]));
  }
  if (headerLen > kMaxNpyHeader)
    fail(where, "header too large (" + std::to_string(headerLen) + " bytes > 64 KiB)");
  if (avail - prefix < headerLen)
    fail(where, "truncated header");
  std::string text(reinterpret_cast<const char *>(p + prefix), headerLen);
  std::string descr;
  bool fortran = false;
  NpyHeader h;
  NpyHeaderParser(where, text).parse(descr, fortran, h.shape);
  h.dtype = dtypeFromDescr(where, descr);
  if (fortran) {
    // Column-major and row-major coincide when at most one dimension exceeds 1.
    int64_t big = std::count_if(h.shape.begin(), h.shape.end(), [](int64_t d) { return d > 1; });
    if (big > 1)
      fail(where, "fortran order is not supported (save with np.ascontiguousarray)");
  }
  checkedSizes(where, h.shape, h.dtype, h.numel, h.dataBytes);
  h.dataOffset = prefix + headerLen;
  return h;
}

void checkDataSize(const std::string &where, const NpyHeader &h, uint64_t present) {
  if (present < h.dataBytes)
    fail(where, "truncated: shape " + rt::shapeToString(h.shape) + " of " +
                    rt::dtypeName(h.dtype) + " needs " + std::to_string(h.dataBytes) +
                    " data bytes, file has " + std::to_string(present));
  if (present > h.dataBytes)
    fail(where, "shape/data size mismatch: shape " + rt::shapeToString(h.shape) +
                    " needs " + std::to_string(h.dataBytes) + " data bytes, file has " +
                    std::to_string(present));
}

/// Parses a whole .npy held in memory (an npz member).
Tensor parseNpy(const std::string &where, const uint8_t *p, size_t size) {
  NpyHeader h = parseNpyHeader(where, p, size);
  checkDataSize(where, h, size - h.dataOffset);
  Tensor t = allocate(where, h.dtype, h.shape);
  if (h.dataBytes)
    std::memcpy(t.mutableRawData(), p + h.dataOffset, h.dataBytes);
  normalizeBools(t);
  return t;
}

/// The v1.0 header numpy itself writes (keys sorted, spare room after the
/// first dimension, padded with spaces to a 64-byte boundary, ending in '\n').
std::string npyHeader(const std::string &where, const Tensor &t) {
  if (t.isAbsent())
    fail(where, "cannot write an absent tensor");
  std::string dict = std::string("{'descr': '") + descrForDType(where, t.dtype()) +
                     "', 'fortran_order': False, 'shape': (";
  for (int64_t i = 0; i < t.rank(); ++i)
    dict += (i ? ", " : "") + std::to_string(t.dim(i));
  dict += t.rank() == 1 ? ",), }" : "), }";
  if (t.rank() > 0)
    dict.append(21 - std::min<size_t>(21, std::to_string(t.dim(0)).size()), ' ');
  size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 0xFFFF)
    fail(where, "header too large for .npy format 1.0");
  std::string out(kNpyMagic, kNpyMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

//===----------------------------------------------------------------------===//
// ZIP (.npz)
//===----------------------------------------------------------------------===//

uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t *p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) |
         (uint32_t(p[3]) << 24);
}
uint64_t le64(const uint8_t *p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }
void put16(std::string &s, uint32_t v) {
  s += char(v & 0xFF);
  s += char((v >> 8) & 0xFF);
}
void put32(std::string &s, uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1; // 1980-01-01

struct ZipEntry {
  std::string name;
  uint16_t method, flags;
  uint32_t crc;
  uint64_t compSize, size, localOffset;
};

std::vector<ZipEntry> readCentralDirectory(const std::string &path, const std::string &z) {
  const auto *d = reinterpret_cast<const uint8_t *>(z.data());
  size_t n = z.size();
  if (n >= 4 && le32(d) != kLocalSig && le32(d) != kEndSig)
    fail(path, "bad magic (not a zip/.npz file)");
  if (n < 22)
    fail(path, "truncated (no zip end record)");
  // The end record is the last 22 bytes plus a comment of at most 64 KiB.
  size_t eocd = std::string::npos;
  size_t lowest = n >= 22 + 0xFFFF ? n - 22 - 0xFFFF : 0;
  for (size_t i = n - 22 + 1; i-- > lowest;)
    if (le32(d + i) == kEndSig && i + 22 + le16(d + i + 20) == n) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos)
    fail(path, "truncated or not a zip file (no end of central directory)");
  const uint8_t *e = d + eocd;
  uint16_t count = le16(e + 10);
  uint32_t cdSize = le32(e + 12), cdOffset = le32(e + 16);
  if (le16(e + 4) != 0 || le16(e + 6) != 0 || le16(e + 8) != count)
    fail(path, "multi-disk zip archives are not supported");
  if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF)
    fail(path, "zip64 archives are not supported");
  if (uint64_t(cdOffset) + cdSize > eocd)
    fail(path, "truncated (central directory out of bounds)");

  std::vector<ZipEntry> entries;
  size_t pos = cdOffset, cdEnd = size_t(cdOffset) + cdSize;
  for (uint16_t i = 0; i < count; ++i) {
    if (pos + 46 > cdEnd || le32(d + pos) != kCentralSig)
      fail(path, "corrupt central directory");
    const uint8_t *c = d + pos;
    ZipEntry ent;
    ent.flags = le16(c + 8);
    ent.method = le16(c + 10);
    ent.crc = le32(c + 16);
    ent.compSize = le32(c + 20);
    ent.size = le32(c + 24);
    size_t nameLen = le16(c + 28), extraLen = le16(c + 30), commentLen = le16(c + 32);
    ent.localOffset = le32(c + 42);
    if (pos + 46 + nameLen + extraLen + commentLen > cdEnd)
      fail(path, "corrupt central directory");
    ent.name.assign(reinterpret_cast<const char *>(c + 46), nameLen);
    // A zip64 extra field carries the real values of fields saturated at 0xFFFFFFFF.
    const uint8_t *x = c + 46 + nameLen, *xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      uint16_t tag = le16(x), len = le16(x + 2);
      if (x + 4 + len > xEnd)
        break;
      if (tag == 1) {
        const uint8_t *v = x + 4, *vEnd = x + 4 + len;
        for (uint64_t *field : {&ent.size, &ent.compSize, &ent.localOffset})
          if (*field == 0xFFFFFFFF) {
            if (v + 8 > vEnd)
              fail(path, "corrupt zip64 extra field");
            *field = le64(v);
            v += 8;
          }
      }
      x += 4 + len;
    }
    entries.push_back(std::move(ent));
    pos += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

std::string inflateRaw(const std::string &where, const uint8_t *src, uint64_t srcLen,
                       uint64_t outLen) {
  std::string out(static_cast<size_t>(outLen), '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
    fail(where, "zlib initialization failed");
  uint64_t inLeft = srcLen, outLeft = outLen;
  zs.next_in = const_cast<Bytef *>(src);
  zs.next_out = reinterpret_cast<Bytef *>(out.data());
  int rc = Z_OK;
  // zlib counts in uInt; feed large members in chunks.
  while (rc == Z_OK) {
    if (zs.avail_in == 0 && inLeft) {
      zs.avail_in = static_cast<uInt>(std::min<uint64_t>(inLeft, 1u << 30));
      inLeft -= zs.avail_in;
    }
    if (zs.avail_out == 0 && outLeft) {
      zs.avail_out = static_cast<uInt>(std::min<uint64_t>(outLeft, 1u << 30));
      outLeft -= zs.avail_out;
    }
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && (zs.avail_in || inLeft) && (zs.avail_out || outLeft))
      rc = Z_OK;
  }
  uint64_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    fail(where, rc == Z_BUF_ERROR ? "compressed data truncated or larger than declared"
                                  : "corrupt deflate data");
  if (produced != outLen)
    fail(where, "decompressed size differs from the declared size");
  return out;
}

//===----------------------------------------------------------------------===//
// TensorProto
//===----------------------------------------------------------------------===//

bool protoDTypeSupported(int32_t type) {
  switch (static_cast<DType>(type)) {
  case DType::F32: case DType::U8: case DType::I8: case DType::U16: case DType::I16:
  case DType::I32: case DType::I64: case DType::Bool: case DType::F16: case DType::F64:
  case DType::U32: case DType::U64: case DType::BF16:
    return true;
  default:
    return false;
  }
}

const char *protoDTypeName(int32_t type) {
  static const std::map<int32_t, const char *> names = {
      {0, "undefined"}, {8, "string"}, {14, "complex64"}, {15, "complex128"},
      {17, "float8e4m3fn"}, {18, "float8e4m3fnuz"}, {19, "float8e5m2"},
      {20, "float8e5m2fnuz"}, {21, "uint4"}, {22, "int4"}, {23, "float4e2m1"}};
  auto it = names.find(type);
  return it == names.end() ? nullptr : it->second;
}

template <typename T, typename Src>
void copyTyped(const std::string &where, const Src &src, Tensor &t) {
  T *dst = static_cast<T *>(t.mutableRawData());
  for (int i = 0; i < src.size(); ++i) {
    auto v = src.Get(i);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, decltype(v)>) {
      if (v < static_cast<decltype(v)>(std::numeric_limits<T>::min()) ||
          v > static_cast<decltype(v)>(std::numeric_limits<T>::max()))
        fail(where, "value " + std::to_string(v) + " out of range for " +
                        rt::dtypeName(t.dtype()));
    }
    dst[i] = static_cast<T>(v);
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

Tensor readNpy(const std::string &path) {
  uint64_t size = 0;
  std::ifstream in = openForRead(path, size);
  // Read just the preamble and header; data goes straight into the tensor.
  std::string head(static_cast<size_t>(std::min<uint64_t>(size, 12 + kMaxNpyHeader)), '\0');
  if (!in.read(head.data(), static_cast<std::streamsize>(head.size())))
    fail(path, "read error");
  NpyHeader h = parseNpyHeader(path, reinterpret_cast<const uint8_t *>(head.data()),
                               head.size());
  checkDataSize(path, h, size - h.dataOffset);
  Tensor t = allocate(path, h.dtype, h.shape);
  in.clear();
  in.seekg(static_cast<std::streamoff>(h.dataOffset));
  if (h.dataBytes && !in.read(static_cast<char *>(t.mutableRawData()),
                              static_cast<std::streamsize>(h.dataBytes)))
    fail(path, "read error");
  normalizeBools(t);
  return t;
}

void writeNpy(const std::string &path, const Tensor &t) {
  std::string header = npyHeader(path, t);
  std::ofstream out = openForWrite(path);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char *>(t.rawData()), static_cast<std::streamsize>(t.byteSize()));
  finishWrite(out, path);
}

std::vector<NamedTensor> readNpz(const std::string &path) {
  std::string z = readWholeFile(path);
  const auto *d = reinterpret_cast<const uint8_t *>(z.data());
  std::vector<NamedTensor> result;
  std::set<std::string> seen;
  for (const ZipEntry &ent : readCentralDirectory(path, z)) {
    std::string where = path + ": entry '" + ent.name + "'";
    if (!ent.name.empty() && ent.name.back() == '/')
      continue; // a directory entry
    if (ent.flags & 1)
      fail(where, "encrypted zip entries are not supported");
    if (ent.name.size() < 4 || ent.name.compare(ent.name.size() - 4, 4, ".npy") != 0)
      fail(where, "not an .npy member");
    // Local header: its name/extra lengths may differ from the central copy
    // (zip64 extras that numpy forces), its sizes may be placeholders; take
    // sizes from the central directory.
    if (ent.localOffset > z.size() || z.size() - ent.localOffset < 30 ||
        le32(d + ent.localOffset) != kLocalSig)
      fail(where, "corrupt local header");
    uint64_t dataOffset = ent.localOffset + 30 + le16(d + ent.localOffset + 26) +
                          le16(d + ent.localOffset + 28);
    if (dataOffset > z.size() || z.size() - dataOffset < ent.compSize)
      fail(where, "truncated member data");
    const uint8_t *src = d + dataOffset;
    std::string inflated;
    const uint8_t *npy = src;
    if (ent.method == 0) {
      if (ent.compSize != ent.size)
        fail(where, "stored member with differing sizes");
    } else if (ent.method == 8) {
      // Deflate expands at most ~1032:1; a larger claim is a corrupt header.
      if (ent.size > ent.compSize * 1100 + 1024)
        fail(where, "implausible uncompressed size " + std::to_string(ent.size));
      inflated = inflateRaw(where, src, ent.compSize, ent.size);
      npy = reinterpret_cast<const uint8_t *>(inflated.data());
    } else {
      fail(where, "unsupported compression method " + std::to_string(ent.method) +
                      " (only stored and deflate)");
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t off = 0; off < ent.size; off += 1u << 30)
      crc = crc32(crc, npy + off, static_cast<uInt>(std::min<uint64_t>(ent.size - off, 1u << 30)));
    if (crc != ent.crc)
      fail(where, "CRC mismatch (corrupt archive)");
    std::string name = ent.name.substr(0, ent.name.size() - 4);
    if (!seen.insert(name).second)
      fail(where, "duplicate member");
    result.push_back({name, parseNpy(where, npy, static_cast<size_t>(ent.size))});
  }
  return result;
}

void writeNpz(const std::string &path, const std::vector<NamedTensor> &tensors) {
  std::set<std::string> names;
  for (const NamedTensor &nt : tensors) {
    if (nt.name.empty())
      fail(path, "cannot write a tensor with an empty name");
    if (nt.name.size() > 0xFFFF - 4)
      fail(path, "tensor name too long");
    if (!names.insert(nt.name).second)
      fail(path, "duplicate tensor name '" + nt.name + "'");
  }
  if (tensors.size() >= 0xFFFF)
    fail(path, "too many tensors for a zip without zip64");
  std::ofstream out = openForWrite(path);
  std::string central;
  uint64_t offset = 0;
  for (const NamedTensor &nt : tensors) {
    std::string member = nt.name + ".npy";
    std::string header = npyHeader(path + ": tensor '" + nt.name + "'", nt.tensor);
    uint64_t size = header.size() + nt.tensor.byteSize();
    if (size >= 0xFFFFFFFFull || offset >= 0xFFFFFFFFull)
      fail(path, "archive larger than 4 GiB needs zip64, which is not supported");
    const auto *data = static_cast<const Bytef *>(nt.tensor.rawData());
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef *>(header.data()), uInt(header.size()));
    crc = crc32(crc, data, uInt(nt.tensor.byteSize()));

    std::string local;
    put32(local, kLocalSig);
    put16(local, 20); // version needed: 2.0
    put16(local, 0);  // flags
    put16(local, 0);  // method: stored
    put16(local, 0);  // time 00:00:00
    put16(local, kDosDate1980);
    put32(local, uint32_t(crc));
    put32(local, uint32_t(size));
    put32(local, uint32_t(size));
    put16(local, uint32_t(member.size()));
    put16(local, 0); // extra length
    local += member;

    put32(central, kCentralSig);
    put16(central, 20); // made by: MS-DOS attributes, version 2.0
    put16(central, 20);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, kDosDate1980);
    put32(central, uint32_t(crc));
    put32(central, uint32_t(size));
    put32(central, uint32_t(size));
    put16(central, uint32_t(member.size()));
    put16(central, 0); // extra
    put16(central, 0); // comment
    put16(central, 0); // disk
    put16(central, 0); // internal attributes
    put32(central, 0); // external attributes
    put32(central, uint32_t(offset));
    central += member;

    out.write(local.data(), std::streamsize(local.size()));
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char *>(data), std::streamsize(nt.tensor.byteSize()));
    offset += local.size() + size;
  }
  if (offset + central.size() >= 0xFFFFFFFFull)
    fail(path, "archive larger than 4 GiB needs zip64, which is not supported");
  std::string end;
  put32(end, kEndSig);
  put16(end, 0);
  put16(end, 0);
  put16(end, uint32_t(tensors.size()));
  put16(end, uint32_t(tensors.size()));
  put32(end, uint32_t(central.size()));
  put32(end, uint32_t(offset));
  put16(end, 0); // comment length
  out.write(central.data(), std::streamsize(central.size()));
  out.write(end.data(), std::streamsize(end.size()));
  finishWrite(out, path);
}

NamedTensor readTensorProto(const std::string &path) {
  std::string bytes = readWholeFile(path);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    fail(path, "not a valid ONNX TensorProto");
  if (proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    fail(path, "external tensor data is not supported");
  if (proto.has_segment())
    fail(path, "segmented tensors are not supported");
  int32_t type = proto.data_type();
  if (!protoDTypeSupported(type)) {
    const char *name = protoDTypeName(type);
    fail(path, std::string("unsupported dtype ") +
                   (name ? name : "(data_type " + std::to_string(type) + ")"));
  }
  DType dtype = static_cast<DType>(type);
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      fail(path, "negative dimension in shape " + rt::shapeToString(shape));
  int64_t numel = 0;
  uint64_t byteSize = 0;
  checkedSizes(path, shape, dtype, numel, byteSize);

  // Check the data size before allocating what the dims claim.
  auto mismatch = [&](uint64_t have, const char *what) {
    fail(path, "shape/data size mismatch: shape " + rt::shapeToString(shape) + " of " +
                   rt::dtypeName(dtype) + " needs " + std::to_string(numel) +
                   " elements, " + what + " has " + std::to_string(have));
  };
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != byteSize)
      fail(path, "shape/data size mismatch: shape " + rt::shapeToString(shape) + " of " +
                     rt::dtypeName(dtype) + " needs " + std::to_string(byteSize) +
                     " bytes, raw_data has " + std::to_string(proto.raw_data().size()));
    Tensor t = allocate(path, dtype, shape);
    if (byteSize)
      std::memcpy(t.mutableRawData(), proto.raw_data().data(), byteSize);
    normalizeBools(t);
    return {proto.name(), t};
  }

  int64_t have = 0;
  const char *field = "";
  switch (dtype) {
  case DType::F32: have = proto.float_data_size(); field = "float_data"; break;
  case DType::F64: have = proto.double_data_size(); field = "double_data"; break;
  case DType::I64: have = proto.int64_data_size(); field = "int64_data"; break;
  case DType::U32: case DType::U64: have = proto.uint64_data_size(); field = "uint64_data"; break;
  default: have = proto.int32_data_size(); field = "int32_data"; break;
  }
  if (have != numel)
    mismatch(uint64_t(have), field);
  Tensor t = allocate(path, dtype, shape);
  switch (dtype) {
  case DType::F32: copyTyped<float>(path, proto.float_data(), t); break;
  case DType::F64: copyTyped<double>(path, proto.double_data(), t); break;
  case DType::I64: copyTyped<int64_t>(path, proto.int64_data(), t); break;
  case DType::U32: copyTyped<uint32_t>(path, proto.uint64_data(), t); break;
  case DType::U64: copyTyped<uint64_t>(path, proto.uint64_data(), t); break;
  case DType::I32: copyTyped<int32_t>(path, proto.int32_data(), t); break;
  case DType::I16: copyTyped<int16_t>(path, proto.int32_data(), t); break;
  case DType::U16: copyTyped<uint16_t>(path, proto.int32_data(), t); break;
  case DType::I8: copyTyped<int8_t>(path, proto.int32_data(), t); break;
  case DType::U8: copyTyped<uint8_t>(path, proto.int32_data(), t); break;
  case DType::Bool: {
    auto *dst = static_cast<uint8_t *>(t.mutableRawData());
    for (int i = 0; i < proto.int32_data_size(); ++i)
      dst[i] = proto.int32_data(i) != 0;
    break;
  }
  case DType::F16: case DType::BF16: {
    // int32_data holds the 16-bit patterns.
    auto *dst = static_cast<uint16_t *>(t.mutableRawData());
    for (int i = 0; i < proto.int32_data_size(); ++i)
      dst[i] = static_cast<uint16_t>(proto.int32_data(i) & 0xFFFF);
    break;
  }
  default:
    fail(path, std::string("unsupported dtype ") + rt::dtypeName(dtype));
  }
  return {proto.name(), t};
}

void writeTensorProto(const std::string &path, const NamedTensor &t) {
  if (t.tensor.isAbsent() || t.tensor.dtype() == DType::String)
    fail(path, std::string("cannot write a tensor of type ") + rt::dtypeName(t.tensor.dtype()));
  onnx::TensorProto proto;
  proto.set_name(t.name);
  proto.set_data_type(static_cast<int32_t>(t.tensor.dtype()));
  for (int64_t d : t.tensor.shape())
    proto.add_dims(d);
  proto.set_raw_data(std::string(static_cast<const char *>(t.tensor.rawData()),
                                 t.tensor.byteSize()));
  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    fail(path, "cannot serialize (tensor larger than 2 GiB?)");
  std::ofstream out = openForWrite(path);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  finishWrite(out, path);
}

std::vector<NamedTensor> readTestDataSet(const std::string &dir, const std::string &prefix) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    fail(dir, std::filesystem::exists(dir, ec) ? "not a directory" : "no such directory");
  std::map<uint64_t, std::string> files;
  std::string lead = prefix + "_";
  for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= lead.size() + 3 || name.compare(0, lead.size(), lead) != 0 ||
        name.compare(name.size() - 3, 3, ".pb") != 0)
      continue;
    std::string digits = name.substr(lead.size(), name.size() - lead.size() - 3);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    uint64_t index = std::stoull(digits);
    if (!files.emplace(index, entry.path().string()).second)
      fail(dir, "two files for " + lead + std::to_string(index) + ".pb");
  }
  if (ec)
    fail(dir, "cannot list directory: " + ec.message());
  std::vector<NamedTensor> result;
  uint64_t expected = 0;
  for (const auto &[index, file] : files) {
    if (index != expected)
      fail(dir, "missing " + lead + std::to_string(expected) + ".pb");
    result.push_back(readTensorProto(file));
    ++expected;
  }
  return result;
}

} // namespace ds::io
