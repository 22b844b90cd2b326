//===- NpyIO.cpp - .npy/.npz readers and writers without zlib or protobuf --===//
//
// Moved here from calibrate/TensorIO.cpp so that the artifact runner, which may
// depend on nothing but libc/libstdc++/libm/pthread, reads the same files the
// compiler does with the same checks. Deflated .npz members need an inflater
// from the caller (TensorIO passes zlib's); CRC-32 is computed here.
//
// Everything read here comes from users' files, so every size and offset is
// checked against what the file really holds before it is used (never allocate
// what a header claims before knowing the bytes exist). Errors are rt::Error
// with "<path>: <problem>".
//
//===----------------------------------------------------------------------===//
#include "ds/runtime/NpyIO.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include "ds/runtime/FileHelpers.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace ds::rt {
namespace {
using namespace files;
/// numpy's largest accepted header is configurable; ours is fixed (a real
/// header is ~100 bytes, a larger one is a corrupt or hostile file).
constexpr size_t kMaxNpyHeader = 64 * 1024;
constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicLen = 6;

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw Error(where + ": " + what);
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

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

/// CRC-32 (ISO 3309 / zip), reflected polynomial 0xEDB88320, table-driven.
uint32_t crc32Update(uint32_t crc, const uint8_t *p, uint64_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (uint64_t i = 0; i < n; ++i)
    crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

} // namespace

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

/// The archive as a whole, before any member is read: at most kMaxNpzMembers
/// members, no name twice, no two members' bytes overlapping (a directory of
/// thousands of entries pointing at one member multiplies it), and a total
/// uncompressed size within kMaxNpzInflation times the file plus 256 MiB.
namespace {
constexpr size_t kMaxNpzMembers = 65535;
constexpr uint64_t kMaxNpzInflation = 64;

void checkNpzBounds(const std::string &path, const std::string &z,
                    const std::vector<ZipEntry> &entries) {
  if (entries.size() > kMaxNpzMembers)
    fail(path, std::to_string(entries.size()) + " members (at most " +
                   std::to_string(kMaxNpzMembers) + ")");
  std::set<std::string> names;
  std::vector<std::pair<uint64_t, uint64_t>> spans; // [local header, end of data)
  uint64_t total = 0;
  const auto *d = reinterpret_cast<const uint8_t *>(z.data());
  for (const ZipEntry &ent : entries) {
    std::string where = path + ": entry '" + ent.name + "'";
    std::string name = ent.name.size() >= 4 && ent.name.compare(ent.name.size() - 4, 4, ".npy") == 0
                           ? ent.name.substr(0, ent.name.size() - 4)
                           : ent.name;
    if (!names.insert(name).second)
      fail(where, "duplicate member");
    if (ent.localOffset > z.size() || z.size() - ent.localOffset < 30)
      fail(where, "corrupt local header");
    uint64_t end = ent.localOffset + 30 + le16(d + ent.localOffset + 26) +
                   le16(d + ent.localOffset + 28);
    if (end > z.size() || z.size() - end < ent.compSize)
      fail(where, "truncated member data");
    spans.push_back({ent.localOffset, end + ent.compSize});
    if (ent.method == 8 && ent.size > ent.compSize * 1100 + 1024) // deflate expands <= ~1032:1
      fail(where, "implausible uncompressed size " + std::to_string(ent.size));
    if (ent.size > UINT64_MAX / 2 || (total += ent.size) > kMaxNpzInflation * z.size() + (256ull << 20))
      fail(path, "members would inflate to more than " + std::to_string(kMaxNpzInflation) +
                     "x the archive plus 256 MiB; refusing (a zip bomb?)");
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second)
      fail(path, "members overlap (two directory entries share bytes)");
}
} // namespace

std::vector<NamedTensor> readNpz(const std::string &path, NpzInflater inflate) {
  std::string z = readWholeFile(path);
  const auto *d = reinterpret_cast<const uint8_t *>(z.data());
  std::vector<NamedTensor> result;
  std::vector<ZipEntry> entries = readCentralDirectory(path, z);
  checkNpzBounds(path, z, entries); // before anything is inflated or allocated
  for (const ZipEntry &ent : entries) {
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
      if (!inflate)
        fail(where, "compressed (deflated) .npz members are not supported here; save with "
                    "np.savez, not np.savez_compressed");
      inflated = inflate(where, src, ent.compSize, ent.size);
      npy = reinterpret_cast<const uint8_t *>(inflated.data());
    } else {
      fail(where, "unsupported compression method " + std::to_string(ent.method) +
                      " (only stored and deflate)");
    }
    if (crc32Update(0, npy, ent.size) != ent.crc)
      fail(where, "CRC mismatch (corrupt archive)");
    std::string name = ent.name.substr(0, ent.name.size() - 4);
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
    const auto *data = static_cast<const uint8_t *>(nt.tensor.rawData());
    uint32_t crc = crc32Update(0, reinterpret_cast<const uint8_t *>(header.data()), header.size());
    crc = crc32Update(crc, data, nt.tensor.byteSize());

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

} // namespace ds::rt
