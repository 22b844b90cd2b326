//===- ModelLoader.cpp ----------------------------------------------------===//
#include "importer/ModelLoader.h"
#include "importer/AttributeChecks.h"
#include "importer/ShapeInferenceGuards.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <google/protobuf/io/coded_stream.h>

#include <climits>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace ds::importer {

namespace {
std::string firstLine(const std::string &text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r'))
    line.pop_back();
  return line;
}

bool parseNonNegative(const std::string &text, uint64_t &value) {
  if (text.empty() || text.size() > 19)
    return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}
} // namespace

size_t onnxElementSize(int32_t dataType) {
  using T = onnx::TensorProto;
  switch (dataType) {
  case T::FLOAT: case T::INT32: case T::UINT32: return 4;
  case T::DOUBLE: case T::INT64: case T::UINT64: return 8;
  case T::FLOAT16: case T::BFLOAT16: case T::INT16: case T::UINT16: return 2;
  case T::INT8: case T::UINT8: case T::BOOL: return 1;
  default: return 0;
  }
}

//===----------------------------------------------------------------------===//
// MappedFile
//===----------------------------------------------------------------------===//

std::shared_ptr<MappedFile> MappedFile::open(const std::string &path,
                                             const std::string &modelPath) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw ImportError(modelPath + ": external data file '" + path +
                      "' cannot be opened: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ImportError(modelPath + ": external data '" + path + "' is not a regular file");
  }
  // A hard link may be a file outside the model directory, and no path check
  // can tell: refuse files with more than one link.
  if (st.st_nlink > 1) {
    ::close(fd);
    throw ImportError(modelPath + ": external data '" + path + "' has " +
                      std::to_string(st.st_nlink) +
                      " hard links, so it may live outside the model directory (copy it instead)");
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void *p = mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw ImportError(modelPath + ": cannot mmap external data '" + path +
                        "': " + std::strerror(errno));
    }
    file->data_ = static_cast<const char *>(p);
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_)
    munmap(const_cast<char *>(data_), size_);
}

//===----------------------------------------------------------------------===//
// Loading and validation
//===----------------------------------------------------------------------===//

void LoadedModel::fail(const std::string &message) const {
  throw ImportError(path_ + ": " + message);
}

std::shared_ptr<LoadedModel> LoadedModel::load(const std::string &path,
                                               const ImportOptions &options) {
  auto loaded = std::make_shared<LoadedModel>();
  loaded->path_ = path;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    loaded->fail("no such file");
  if (!fs::is_regular_file(status))
    loaded->fail("not a regular file");
  loaded->dir_ = fs::path(path).parent_path().string();
  if (loaded->dir_.empty())
    loaded->dir_ = ".";

  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    loaded->fail("cannot read file");
  if (bytes.empty())
    loaded->fail("file is empty; expected an ONNX model");
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    loaded->fail("model protobuf is over 2 GiB; store the weights as external data");

  loaded->model_ = std::make_unique<onnx::ModelProto>();
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>(bytes.data()), static_cast<int>(bytes.size()));
  stream.SetRecursionLimit(64);
  if (!loaded->model_->ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    loaded->fail("not a valid ONNX model (protobuf parsing failed: truncated or not ONNX)");
  if (!loaded->model_->has_graph() || loaded->model_->ir_version() <= 0)
    loaded->fail("not an ONNX model (no graph or IR version); is this the right file?");

  loaded->validateOpsetAndIr();
  loaded->validateGraphStructure();
  return loaded;
}

void LoadedModel::specializeInputs(const std::map<std::string, std::vector<int64_t>> &shapes) {
  if (shapes.empty())
    return;
  onnx::GraphProto *g = model_->mutable_graph();
  std::set<std::string> initializers;
  for (const auto &init : g->initializer())
    initializers.insert(init.name());
  std::string names;
  for (const auto &input : g->input())
    if (!initializers.count(input.name()))
      names += (names.empty() ? "" : ", ") + input.name();
  for (const auto &[name, dims] : shapes) {
    onnx::ValueInfoProto *input = nullptr;
    for (auto &in : *g->mutable_input())
      if (in.name() == name)
        input = &in;
    if (!input || initializers.count(name))
      fail("--input-shape names '" + name + "', which is not a graph input; inputs: " + names);
    auto *shape = input->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != 0 && shape->dim_size() != static_cast<int>(dims.size()))
      fail("--input-shape gives input '" + name + "' " + std::to_string(dims.size()) +
           " dims, the model declares " + std::to_string(shape->dim_size()));
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] <= 0)
        fail("--input-shape: dim " + std::to_string(i) + " of '" + name + "' must be positive");
      if (static_cast<int>(i) < shape->dim_size() && shape->dim(static_cast<int>(i)).has_dim_value() &&
          shape->dim(static_cast<int>(i)).dim_value() != dims[i])
        fail("--input-shape: dim " + std::to_string(i) + " of '" + name + "' is fixed at " +
             std::to_string(shape->dim(static_cast<int>(i)).dim_value()) + " in the model");
    }
    shape->clear_dim();
    for (int64_t d : dims)
      shape->add_dim()->set_dim_value(d);
  }
  // Intermediate and output shapes were inferred for dynamic inputs: let
  // inference recompute them (element types stay).
  g->clear_value_info();
  for (auto &out : *g->mutable_output())
    for (auto &dim : *out.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
      dim.clear_dim_value(); // rank kept, each dim unknown until inference fills it
      dim.clear_dim_param();
    }
}

void LoadedModel::runLibraryChecks(const ImportOptions &options) {
  bool libraryKnowsModel =
      opset_ <= kOnnxLibraryMaxOpset && model_->ir_version() <= kOnnxLibraryMaxIrVersion;
  if (options.runChecker && libraryKnowsModel)
    runOnnxChecker();
  if (options.runShapeInference && opset_ <= kOnnxLibraryMaxOpset)
    runShapeInference();
}

void LoadedModel::validateOpsetAndIr() {
  for (const auto &import : model_->opset_import()) {
    const std::string &domain = import.domain();
    if (domain.empty() || domain == "ai.onnx")
      opset_ = static_cast<int>(import.version());
  }
  if (opset_ == 0)
    fail("model imports no default-domain (ai.onnx) opset; supported: opsets " +
         std::to_string(kMinOpset) + "-" + std::to_string(kMaxOpset));
  // Before any of ONNX's code (the version converter, the checker, shape
  // inference) reads an attribute it would divide by.
  const onnx::GraphProto &g = graph();
  for (int i = 0; i < g.node_size(); ++i)
    if (auto bad = badAttribute(g.node(i))) {
      const onnx::NodeProto &node = g.node(i);
      fail("node '" + (node.name().empty() ? node.op_type() + "_" + std::to_string(i) : node.name()) +
           "' (" + node.op_type() + ", opset " + std::to_string(opset_) + "): " + *bad);
    }
  if (opset_ >= kMinUpgradableOpset && opset_ < kMinOpset)
    upgradeOpset();
  if (opset_ < kMinOpset || opset_ > kMaxOpset)
    fail("opset " + std::to_string(opset_) + " is not supported; supported: opsets " +
         std::to_string(kMinUpgradableOpset) + "-" + std::to_string(kMaxOpset) + " (opsets " +
         std::to_string(kMinUpgradableOpset) + "-" + std::to_string(kMinOpset - 1) +
         " are upgraded to " + std::to_string(kMinOpset) + "); re-export the model at one of them");
}

/// Old exports (opset 7-10: PaddleOCR's published models, early torch and
/// keras2onnx output) go through ONNX's own version converter, which rewrites
/// exactly the ops whose semantics changed (Upsample -> Resize, Slice's
/// attributes -> inputs, BatchNormalization's spatial, ...).
void LoadedModel::upgradeOpset() {
  installShapeInferenceGuards(); // the converter runs schema inference functions
  for (const auto &init : graph().initializer())
    if (init.data_location() == onnx::TensorProto::EXTERNAL)
      fail("opset " + std::to_string(opset_) + " with external data cannot be upgraded here; "
           "upgrade it with onnx.version_converter to opset " + std::to_string(kMinOpset) +
           " or later first");
  try {
    onnx::ModelProto upgraded = onnx::version_conversion::ConvertVersion(*model_, kMinOpset);
    *model_ = std::move(upgraded);
  } catch (const std::exception &e) {
    fail("opset " + std::to_string(opset_) + " could not be upgraded to " +
         std::to_string(kMinOpset) + " by ONNX's version converter: " + firstLine(e.what()) +
         "; re-export the model at opset " + std::to_string(kMinOpset) + " or later");
  }
  upgradedFrom_ = opset_;
  opset_ = 0;
  for (const auto &import : model_->opset_import())
    if (import.domain().empty() || import.domain() == "ai.onnx")
      opset_ = static_cast<int>(import.version());
}

void LoadedModel::validateGraphStructure() const {
  const onnx::GraphProto &g = graph();
  std::set<std::string> defined;
  auto define = [&](const std::string &name, const std::string &what) {
    if (name.empty())
      fail(what + " has an empty name");
    if (!defined.insert(name).second)
      fail(what + " '" + name + "' is defined more than once");
  };
  for (const auto &init : g.initializer())
    define(init.name(), "initializer");
  for (const auto &input : g.input())
    if (!defined.count(input.name()))
      define(input.name(), "graph input");
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &node = g.node(i);
    std::string where = "node '" + (node.name().empty() ? "#" + std::to_string(i) : node.name()) +
                        "' (" + node.op_type() + ")";
    for (const auto &in : node.input())
      if (!in.empty() && !defined.count(in))
        fail(where + ": input '" + in +
             "' is not defined before use (graph not topologically sorted, or a cycle)");
    for (const auto &out : node.output())
      if (!out.empty())
        define(out, where + " output");
  }
  if (g.output_size() == 0)
    fail("graph has no outputs");
  for (const auto &out : g.output())
    if (!defined.count(out.name()))
      fail("graph output '" + out.name() + "' is not produced by any node");
}

void LoadedModel::runOnnxChecker() const {
  onnx::checker::CheckerContext ctx;
  ctx.set_ir_version(static_cast<int>(model_->ir_version()));
  std::unordered_map<std::string, int> opsets;
  for (const auto &import : model_->opset_import())
    opsets[import.domain()] = static_cast<int>(import.version());
  ctx.set_opset_imports(opsets);
  ctx.set_model_dir(dir_);
  // External-data locations are validated by our own rules (containment,
  // bounds) when the data is read, before anything touches the file.
  onnx::GraphProto withoutExternal = graph();
  for (auto &init : *withoutExternal.mutable_initializer())
    if (init.data_location() == onnx::TensorProto::EXTERNAL) {
      // An empty placeholder of the same name and type keeps the node checks.
      init.clear_external_data();
      init.set_data_location(onnx::TensorProto::DEFAULT);
      init.clear_dims();
      init.add_dims(0);
      init.clear_raw_data();
    }
  try {
    onnx::checker::LexicalScopeContext lex;
    onnx::checker::check_graph(withoutExternal, ctx, lex);
  } catch (const std::exception &e) {
    fail("ONNX checker: " + firstLine(e.what()));
  }
}

void LoadedModel::runShapeInference() {
  installShapeInferenceGuards();
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1,
                                        /*data_prop=*/true);
    onnx::shape_inference::InferShapes(*model_, onnx::OpSchemaRegistry::Instance(), options);
    shapesInferred_ = true;
  } catch (const std::exception &e) {
    fail("shape inference failed: " + firstLine(e.what()));
  }
}

//===----------------------------------------------------------------------===//
// Tensor data
//===----------------------------------------------------------------------===//

std::shared_ptr<MappedFile> LoadedModel::externalFile(const std::string &location) const {
  auto it = externalFiles_.find(location);
  if (it != externalFiles_.end())
    return it->second;
  fs::path rel(location);
  if (location.empty() || rel.is_absolute())
    fail("external data location '" + location +
         "' must be a relative path inside the model directory");
  for (const auto &part : rel)
    if (part == "..")
      fail("external data location '" + location + "' escapes the model directory ('..')");
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::absolute(dir_), ec);
  fs::path target = fs::weakly_canonical(fs::absolute(fs::path(dir_) / rel), ec);
  if (ec)
    fail("external data file '" + location + "' cannot be resolved: " + ec.message());
  auto [baseEnd, targetIt] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  if (baseEnd != base.end())
    fail("external data location '" + location +
         "' resolves outside the model directory (symlink?)");
  if (!fs::exists(target))
    fail("external data file '" + location + "' does not exist next to the model");
  auto file = MappedFile::open(target.string(), path_);
  externalFiles_[location] = file;
  return file;
}

TensorBytes LoadedModel::tensorBytes(const onnx::TensorProto &tensor,
                                     const std::shared_ptr<const LoadedModel> &self) const {
  using T = onnx::TensorProto;
  std::string what = "tensor '" + tensor.name() + "'";
  size_t elemSize = onnxElementSize(tensor.data_type());
  if (elemSize == 0)
    fail(what + ": element type " + std::to_string(tensor.data_type()) + " is not supported");
  uint64_t numel = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0)
      fail(what + ": negative dimension " + std::to_string(d));
    if (d != 0 && numel > (uint64_t(1) << 62) / static_cast<uint64_t>(d))
      fail(what + ": element count overflows");
    numel *= static_cast<uint64_t>(d);
  }
  if (numel > (uint64_t(1) << 62) / elemSize)
    fail(what + ": byte size overflows");
  uint64_t expected = numel * elemSize;

  if (tensor.data_location() == T::EXTERNAL) {
    std::string location;
    uint64_t offset = 0, length = expected;
    bool hasLength = false;
    for (const auto &kv : tensor.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset" && !parseNonNegative(kv.value(), offset))
        fail(what + ": external data offset '" + kv.value() + "' is not a valid number");
      else if (kv.key() == "length") {
        if (!parseNonNegative(kv.value(), length))
          fail(what + ": external data length '" + kv.value() + "' is not a valid number");
        hasLength = true;
      }
    }
    if (hasLength && length != expected)
      fail(what + ": external data length " + std::to_string(length) + " does not match its " +
           std::to_string(expected) + "-byte shape");
    auto file = externalFile(location);
    uint64_t size = file->bytes().size();
    if (offset > size || expected > size - offset)
      fail(what + ": external data range [" + std::to_string(offset) + ", +" +
           std::to_string(expected) + ") is past the end of '" + location + "' (" +
           std::to_string(size) + " bytes)");
    return {file->bytes().slice(offset, expected), file};
  }

  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != expected)
      fail(what + ": raw_data holds " + std::to_string(tensor.raw_data().size()) +
           " bytes, its shape needs " + std::to_string(expected));
    return {llvm::ArrayRef<char>(tensor.raw_data().data(), expected), self};
  }

  // Typed fields: check the count before allocating (the dims may claim far
  // more than the model holds), then pack into little-endian element bytes.
  int have = tensor.data_type() == T::FLOAT    ? tensor.float_data_size()
             : tensor.data_type() == T::DOUBLE ? tensor.double_data_size()
             : tensor.data_type() == T::INT64  ? tensor.int64_data_size()
             : tensor.data_type() == T::UINT64 || tensor.data_type() == T::UINT32
                 ? tensor.uint64_data_size()
                 : tensor.int32_data_size();
  if (static_cast<uint64_t>(have) != numel)
    fail(what + ": holds " + std::to_string(have) + " values, its shape needs " +
         std::to_string(numel));
  auto buffer = std::make_unique<std::vector<char>>(expected);
  char *out = buffer->data();
  switch (tensor.data_type()) {
  case T::FLOAT:
    if (expected) // empty tensors: data() may be null, which memcpy must not get
      std::memcpy(out, tensor.float_data().data(), expected);
    break;
  case T::DOUBLE:
    if (expected)
      std::memcpy(out, tensor.double_data().data(), expected);
    break;
  case T::INT64:
    if (expected)
      std::memcpy(out, tensor.int64_data().data(), expected);
    break;
  case T::UINT64: case T::UINT32:
    for (uint64_t i = 0; i < numel; ++i) {
      uint64_t v = tensor.uint64_data(static_cast<int>(i));
      std::memcpy(out + i * elemSize, &v, elemSize); // little-endian truncation
    }
    break;
  default: // int32_data carries INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16, BFLOAT16
    for (uint64_t i = 0; i < numel; ++i) {
      int32_t v = tensor.int32_data(static_cast<int>(i));
      std::memcpy(out + i * elemSize, &v, elemSize);
    }
    break;
  }
  llvm::ArrayRef<char> data(buffer->data(), buffer->size());
  convertedTensors_.push_back(std::move(buffer));
  return {data, self};
}

} // namespace ds::importer
