//===- Manifest.cpp - parse and validate manifest.json --------------------===//
#include "Manifest.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ds::artifact {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// Checks fields of one JSON object; every failure names the manifest and the
/// field's path ("weights.tensors[2].offset").
class Reader {
public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string &what,
                         ManifestProblem problem = ManifestProblem::Corrupt) const {
    throw ManifestError(problem, file_ + ": " + what);
  }

  const json &field(const json &obj, const std::string &path, const char *key) const {
    auto it = obj.find(key);
    if (it == obj.end())
      fail("missing field '" + join(path, key) + "'");
    return *it;
  }
  std::string string(const json &obj, const std::string &path, const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_string())
      fail("field '" + join(path, key) + "' must be a string");
    return v.get<std::string>();
  }
  uint64_t unsignedInt(const json &obj, const std::string &path, const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_number_unsigned())
      fail("field '" + join(path, key) + "' must be a non-negative integer");
    return v.get<uint64_t>();
  }
  const json &object(const json &obj, const std::string &path, const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_object())
      fail("field '" + join(path, key) + "' must be an object");
    return v;
  }
  const json &array(const json &obj, const std::string &path, const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_array())
      fail("field '" + join(path, key) + "' must be an array");
    return v;
  }
  rt::DType dtype(const json &obj, const std::string &path) const {
    std::string name = string(obj, path, "dtype");
    rt::DType dt = dtypeFromName(name);
    if (dt == rt::DType::Undefined || rt::dtypeSize(dt) == 0)
      fail("field '" + join(path, "dtype") + "': unknown dtype '" + name + "'");
    return dt;
  }
  /// minDim -1 for graph values (dynamic dims), 0 for constants.
  std::vector<int64_t> shape(const json &obj, const std::string &path, int64_t minDim,
                             const char *key = "shape") const {
    const json &v = array(obj, path, key);
    std::vector<int64_t> dims;
    for (const json &d : v) {
      if (!d.is_number_integer() || d.get<int64_t>() < minDim)
        fail("field '" + join(path, key) + "' must hold integers >= " + std::to_string(minDim));
      dims.push_back(d.get<int64_t>());
    }
    return dims;
  }
  /// A path inside the artifact: relative, no "..", so a manifest cannot
  /// point the runtime at files elsewhere.
  std::string relativeFile(const json &obj, const std::string &path) const {
    std::string f = string(obj, path, "file");
    fs::path p(f);
    bool ok = !f.empty() && p.is_relative();
    for (const auto &part : p)
      ok = ok && part != "..";
    if (!ok)
      fail("field '" + join(path, "file") + "' must be a relative path inside the artifact, got '" +
           f + "'");
    return f;
  }
  std::string hex(const json &obj, const std::string &path, const char *key, size_t length) const {
    std::string s = string(obj, path, key);
    bool ok = !s.empty() && (length == 0 || s.size() == length);
    for (char c : s)
      ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok)
      fail("field '" + join(path, key) + "' must be " +
           (length ? std::to_string(length) + " " : std::string()) + "lower-case hex digits");
    return s;
  }

  static std::string join(const std::string &path, const char *key) {
    return path.empty() ? std::string(key) : path + "." + key;
  }

private:
  std::string file_;
};

std::vector<ValueEntry> readValues(const Reader &r, const json &root, const char *key) {
  std::vector<ValueEntry> values;
  const json &list = r.array(root, "", key);
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = std::string(key) + "[" + std::to_string(i) + "]";
    if (!list[i].is_object())
      r.fail("'" + path + "' must be an object");
    ValueEntry v{r.string(list[i], path, "name"), r.dtype(list[i], path),
                 r.shape(list[i], path, -1), {}};
    if (list[i].contains("max_shape")) {
      v.maxShape = r.shape(list[i], path, -1, "max_shape");
      if (v.maxShape.size() != v.shape.size())
        r.fail("field '" + path + ".max_shape' must have the rank of its shape");
    }
    values.push_back(std::move(v));
  }
  return values;
}

} // namespace

rt::DType dtypeFromName(const std::string &name) {
  for (int code = 1; code <= 16; ++code) {
    auto dt = static_cast<rt::DType>(code);
    if (name == rt::dtypeName(dt))
      return dt;
  }
  return rt::DType::Undefined;
}

Manifest readManifest(const std::string &dir) {
  std::string file = (fs::path(dir) / "manifest.json").string();
  Reader r(file);
  std::error_code ec;
  if (!fs::exists(file, ec))
    r.fail("no such file (not an artifact directory written by ds-optimize?)", ManifestProblem::Io);
  if (!fs::is_regular_file(file, ec)) // a FIFO would block the read
    r.fail("not a regular file", ManifestProblem::Io);
  std::ifstream in(file, std::ios::binary);
  if (!in)
    r.fail("cannot open for reading", ManifestProblem::Io);
  std::stringstream text;
  text << in.rdbuf();
  json root = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    r.fail("not valid JSON");
  if (!root.is_object())
    r.fail("top level must be a JSON object");

  Manifest m;
  if (r.string(root, "", "format") != kFormatName)
    r.fail(std::string("field 'format' must be \"") + kFormatName + "\"");
  const json &version = r.field(root, "", "version");
  if (!version.is_number_integer())
    r.fail("field 'version' must be an integer");
  if (version.get<int64_t>() != kFormatVersion)
    r.fail("artifact format version " + version.dump() + " is not supported; this runtime reads version " +
               std::to_string(kFormatVersion) + " (use the runtime of the ds-optimize that wrote it)",
           ManifestProblem::Version);
  m.version = kFormatVersion;

  const json &tool = r.object(root, "", "tool");
  m.toolName = r.string(tool, "tool", "name");
  m.toolVersion = r.string(tool, "tool", "version");
  m.profile = r.string(root, "", "profile");
  m.precision = r.string(root, "", "precision");
  m.graphDigest = r.hex(root, "", "graph_digest", 0);
  m.inputs = readValues(r, root, "inputs");
  m.outputs = readValues(r, root, "outputs");

  const json &weights = r.object(root, "", "weights");
  m.weightsFile = r.relativeFile(weights, "weights");
  m.weightsBytes = r.unsignedInt(weights, "weights", "bytes");
  m.weightsSha256 = r.hex(weights, "weights", "sha256", 64);
  m.alignment = r.unsignedInt(weights, "weights", "alignment");
  if (m.alignment < 64 || (m.alignment & (m.alignment - 1)) != 0)
    r.fail("field 'weights.alignment' must be a power of two >= 64, got " +
           std::to_string(m.alignment));
  const json &tensors = r.array(weights, "weights", "tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::string path = "weights.tensors[" + std::to_string(i) + "]";
    if (!tensors[i].is_object())
      r.fail("'" + path + "' must be an object");
    TensorEntry t;
    t.name = r.string(tensors[i], path, "name");
    t.offset = r.unsignedInt(tensors[i], path, "offset");
    t.bytes = r.unsignedInt(tensors[i], path, "bytes");
    t.dtype = r.dtype(tensors[i], path);
    t.shape = r.shape(tensors[i], path, 0);
    if (t.offset % m.alignment != 0)
      r.fail("tensor '" + t.name + "': offset " + std::to_string(t.offset) +
             " is not a multiple of the alignment " + std::to_string(m.alignment));
    if (t.offset > m.weightsBytes || t.bytes > m.weightsBytes - t.offset)
      r.fail("tensor '" + t.name + "': bytes [" + std::to_string(t.offset) + ", +" +
             std::to_string(t.bytes) + ") lie past the end of " + m.weightsFile + " (" +
             std::to_string(m.weightsBytes) + " bytes)");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d != 0 && numel > UINT64_MAX / static_cast<uint64_t>(d))
        r.fail("tensor '" + t.name + "': element count overflows");
      numel *= static_cast<uint64_t>(d);
    }
    if (numel > UINT64_MAX / rt::dtypeSize(t.dtype) || numel * rt::dtypeSize(t.dtype) != t.bytes)
      r.fail("tensor '" + t.name + "': " + std::to_string(t.bytes) + " bytes do not hold shape " +
             rt::shapeToString(t.shape) + " of " + rt::dtypeName(t.dtype));
    m.tensors.push_back(std::move(t));
  }

  const json &library = r.object(root, "", "library");
  m.libraryFile = r.relativeFile(library, "library");
  m.librarySha256 = r.hex(library, "library", "sha256", 64);
  if (!fs::is_regular_file(fs::path(dir) / m.libraryFile, ec))
    r.fail("library '" + m.libraryFile + "' is missing from the artifact", ManifestProblem::Io);
  m.runnerFile = r.relativeFile(r.object(root, "", "runner"), "runner");

  const json &layers = r.array(root, "", "layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string path = "layers[" + std::to_string(i) + "]";
    if (!layers[i].is_object())
      r.fail("'" + path + "' must be an object");
    m.layers.push_back({r.string(layers[i], path, "node"), r.string(layers[i], path, "op"),
                        r.string(layers[i], path, "precision")});
  }
  return m;
}

} // namespace ds::artifact
