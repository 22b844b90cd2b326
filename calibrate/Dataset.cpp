//===- Dataset.cpp --------------------------------------------------------===//
#include "calibrate/Dataset.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;
using ds::rt::DType;
using ds::rt::Tensor;

namespace ds::calib {

namespace {

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw DatasetError(where + ": " + what);
}

/// "s2" < "s10": digit runs compare as numbers, the rest byte-wise.
bool naturalLess(const std::string &a, const std::string &b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string da = a.substr(i, ie - i), db = b.substr(j, je - j);
      da.erase(0, std::min(da.find_first_not_of('0'), da.size()));
      db.erase(0, std::min(db.find_first_not_of('0'), db.size()));
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
  return a < b; // equal up to leading zeros: any fixed order
}

bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::string joinNames(const std::vector<std::string> &names) {
  std::string s;
  for (const auto &n : names)
    s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

std::string specText(const rt::ValueSpec &spec) {
  return std::string(spec.dtype == DType::Undefined ? "any" : rt::dtypeName(spec.dtype)) + " " +
         spec.toString();
}

const char *numpyName(DType t) {
  switch (t) {
  case DType::F32: return "np.float32";
  case DType::F64: return "np.float64";
  case DType::F16: return "np.float16";
  case DType::I64: return "np.int64";
  case DType::I32: return "np.int32";
  case DType::I16: return "np.int16";
  case DType::I8: return "np.int8";
  case DType::U8: return "np.uint8";
  case DType::Bool: return "np.bool_";
  default: return rt::dtypeName(t);
  }
}

bool isInteger(DType t) {
  return t == DType::I64 || t == DType::I32 || t == DType::I16 || t == DType::I8 ||
         t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64;
}

/// Rows [first, first + rows) of t along axis 0, aliasing t's storage.
Tensor sliceRows(const Tensor &t, int64_t first, int64_t rows) {
  if (first == 0 && rows == t.dim(0))
    return t;
  rt::Shape shape = t.shape();
  shape[0] = rows;
  size_t rowBytes = t.dim(0) ? t.byteSize() / static_cast<size_t>(t.dim(0)) : 0;
  auto holder = std::make_shared<Tensor>(t);
  return Tensor::borrow(t.dtype(), shape,
                        static_cast<const char *>(t.rawData()) + static_cast<size_t>(first) * rowBytes,
                        std::shared_ptr<const void>(holder, holder.get()));
}

int64_t countNonFinite(const Tensor &t) {
  int64_t bad = 0, n = t.numel();
  switch (t.dtype()) {
  case DType::F32: {
    const float *v = t.data<float>();
    for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(v[i]);
    break;
  }
  case DType::F64: {
    const double *v = t.data<double>();
    for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(v[i]);
    break;
  }
  case DType::F16:
  case DType::BF16: {
    // Exponent all ones: Inf or NaN.
    uint16_t mask = t.dtype() == DType::F16 ? 0x7C00 : 0x7F80;
    const uint16_t *v = static_cast<const uint16_t *>(t.rawData());
    for (int64_t i = 0; i < n; ++i) bad += (v[i] & mask) == mask;
    break;
  }
  default: break;
  }
  return bad;
}

} // namespace

struct CalibrationDataset::Source {
  enum class Kind { Npy, Npz, TestDataSet } kind;
  std::string path;
  bool tokens = false;   // a 1-D token stream cut into windows
  int64_t rows = -1;     // rows along axis 0 after normalization; -1: not sliceable
  size_t bytes = 0;
  bool cached = false;
  std::vector<Tensor> tensors; // when cached
};

CalibrationDataset::~CalibrationDataset() = default;
CalibrationDataset::CalibrationDataset(CalibrationDataset &&) noexcept = default;

/// Reads one source, matches its tensors to the inputs and brings each to the
/// input's rank (token windows, unbatched samples). Sets src.rows/tokens.
std::vector<Tensor> CalibrationDataset::load(size_t index) const {
  Source &src = *sources_[index];
  std::vector<io::NamedTensor> raw;
  try {
    if (src.kind == Source::Kind::Npy)
      raw.push_back({"", io::readNpy(src.path)});
    else if (src.kind == Source::Kind::Npz)
      raw = io::readNpz(src.path);
    else
      raw = io::readTestDataSet(src.path, "input");
  } catch (const DatasetError &) {
    throw;
  } catch (const std::exception &e) {
    throw DatasetError(std::string(e.what()) + "; re-save it (np.save / np.savez / onnx)");
  }

  std::vector<std::string> inputNames;
  for (const auto &spec : inputs_)
    inputNames.push_back(spec.name);
  std::vector<std::string> fileNames;
  for (const auto &nt : raw)
    fileNames.push_back(nt.name);

  // Match by position (.npy, test_data_set) or by name (.npz).
  std::vector<const io::NamedTensor *> matched(inputs_.size(), nullptr);
  if (src.kind == Source::Kind::Npy) {
    if (inputs_.size() != 1)
      fail(src.path, "a .npy holds one tensor but the model has " + std::to_string(inputs_.size()) +
                         " inputs (" + joinNames(inputNames) + "); use .npz keyed by input name");
    matched[0] = &raw[0];
  } else if (src.kind == Source::Kind::TestDataSet) {
    if (raw.size() != inputs_.size())
      fail(src.path, "has " + std::to_string(raw.size()) + " input_N.pb files, the model has " +
                         std::to_string(inputs_.size()) + " inputs (" + joinNames(inputNames) + ")");
    for (size_t i = 0; i < raw.size(); ++i) {
      auto other = std::find(inputNames.begin(), inputNames.end(), raw[i].name);
      if (!raw[i].name.empty() && other != inputNames.end() && raw[i].name != inputNames[i])
        fail(src.path, "input_" + std::to_string(i) + ".pb holds '" + raw[i].name +
                           "' but input " + std::to_string(i) + " is '" + inputNames[i] +
                           "'; number the files in the model's input order");
      matched[i] = &raw[i];
    }
  } else {
    for (const auto &nt : raw) {
      auto it = std::find(inputNames.begin(), inputNames.end(), nt.name);
      if (it == inputNames.end())
        fail(src.path, "tensor '" + nt.name + "' is not a model input (inputs: " +
                           joinNames(inputNames) + "); remove it or rename it");
      matched[static_cast<size_t>(it - inputNames.begin())] = &nt;
    }
    for (size_t i = 0; i < inputs_.size(); ++i)
      if (!matched[i])
        fail(src.path, "has no tensor '" + inputNames[i] + "' (it has: " + joinNames(fileNames) +
                           "); save every model input (" + joinNames(inputNames) + ") by name");
  }

  std::vector<Tensor> out;
  int64_t rows = -2; // -2: not yet known
  std::string rowsFrom;
  bool tokens = false;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const rt::ValueSpec &spec = inputs_[i];
    Tensor t = matched[i]->tensor;
    std::string what = src.path + ": tensor '" + spec.name + "'";
    if (spec.dtype != DType::Undefined && t.dtype() != spec.dtype)
      throw DatasetError(what + " is " + rt::dtypeName(t.dtype()) + ", the model wants " +
                         specText(spec) + "; save it with .astype(" + numpyName(spec.dtype) + ")");
    int64_t specRank = static_cast<int64_t>(spec.dims.size());
    if (!spec.ranked || specRank == 0) {
      if (spec.ranked && t.rank() != 0)
        throw DatasetError(what + " has shape " + rt::shapeToString(t.shape()) +
                           ", the model wants a scalar; save one value per file");
      out.push_back(t);
      continue; // not sliceable: one sample per file
    }
    if (inputs_.size() == 1 && specRank == 2 && t.rank() == 1 && isInteger(t.dtype())) {
      // A token stream: consecutive windows of the sequence length.
      int64_t seq = spec.dims[1];
      if (seq >= 0 && options_.sequenceLength > 0 && options_.sequenceLength != seq)
        throw DatasetError(what + ": the sequence length asked for (" +
                           std::to_string(options_.sequenceLength) + ") is not the model's " +
                           std::to_string(seq));
      if (seq < 0)
        seq = options_.sequenceLength;
      if (seq <= 0)
        throw DatasetError(what + " is a 1-D token stream but the model's sequence length is "
                                  "dynamic; give a sequence length or save [num_sequences, seq_len]");
      int64_t windows = t.numel() / seq;
      if (windows == 0)
        throw DatasetError(what + " has " + std::to_string(t.numel()) +
                           " tokens, fewer than one window of " + std::to_string(seq));
      auto holder = std::make_shared<Tensor>(t);
      t = Tensor::borrow(t.dtype(), {windows, seq}, t.rawData(),
                         std::shared_ptr<const void>(holder, holder.get()));
      tokens = true;
    } else if (t.rank() == specRank - 1) {
      if (spec.dims[0] > 1)
        throw DatasetError(what + " has shape " + rt::shapeToString(t.shape()) +
                           ", one sample, but the model's batch is " + std::to_string(spec.dims[0]) +
                           " " + spec.toString() + "; stack samples along a leading axis");
      rt::Shape shape = t.shape();
      shape.insert(shape.begin(), 1);
      t = t.reshaped(shape);
    }
    bool shapeOk = t.rank() == specRank;
    for (int64_t d = 1; shapeOk && d < specRank; ++d)
      shapeOk = spec.dims[static_cast<size_t>(d)] < 0 ||
                spec.dims[static_cast<size_t>(d)] == t.dim(d);
    if (!shapeOk)
      throw DatasetError(what + " has shape " + rt::shapeToString(matched[i]->tensor.shape()) +
                         ", the model wants " + specText(spec) +
                         " (a leading axis may hold several samples); fix the file's shape");
    if (t.dim(0) == 0)
      throw DatasetError(what + " has no rows (shape " + rt::shapeToString(t.shape()) +
                         "); remove the file");
    if (rows == -2) {
      rows = t.dim(0);
      rowsFrom = spec.name;
    } else if (rows >= 0 && rows != t.dim(0)) {
      throw DatasetError(what + " has " + std::to_string(t.dim(0)) + " rows but '" + rowsFrom +
                         "' has " + std::to_string(rows) + "; every input needs the same count");
    }
    out.push_back(t);
  }
  if (rows == -2 || std::any_of(inputs_.begin(), inputs_.end(), [](const rt::ValueSpec &s) {
        return !s.ranked || s.dims.empty();
      }))
    rows = -1; // some input cannot be sliced: the file is one sample
  if (src.rows != -1 && src.bytes != 0 && (src.rows != rows || src.tokens != tokens))
    fail(src.path, "changed since the calibration set was opened; rerun");
  src.rows = rows;
  src.tokens = tokens;
  return out;
}

CalibrationDataset::CalibrationDataset(const std::string &path, std::vector<rt::ValueSpec> inputs,
                                       DatasetOptions options)
    : inputs_(std::move(inputs)), options_(options) {
  if (inputs_.empty())
    fail(path, "the model has no inputs to calibrate with");
  std::error_code ec;
  auto addFile = [&](const fs::path &p) {
    std::string s = p.string();
    auto src = std::make_unique<Source>();
    src->kind = endsWith(s, ".npz") ? Source::Kind::Npz : Source::Kind::Npy;
    src->path = s;
    sources_.push_back(std::move(src));
  };
  auto addTestDataSet = [&](const fs::path &p) {
    auto src = std::make_unique<Source>();
    src->kind = Source::Kind::TestDataSet;
    src->path = p.string();
    sources_.push_back(std::move(src));
  };
  if (fs::is_regular_file(path, ec)) {
    if (!endsWith(path, ".npy") && !endsWith(path, ".npz"))
      fail(path, "is not a .npy or .npz file; pass .npy/.npz files or a directory of them");
    addFile(path);
  } else if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "input_0.pb", ec)) {
      addTestDataSet(path);
    } else {
      std::vector<std::string> files, sets;
      for (const auto &entry : fs::directory_iterator(path, ec)) {
        std::string name = entry.path().filename().string();
        if (name.empty() || name[0] == '.')
          continue;
        if (entry.is_directory(ec) && name.rfind("test_data_set_", 0) == 0)
          sets.push_back(name);
        else if (entry.is_regular_file(ec) && (endsWith(name, ".npy") || endsWith(name, ".npz")))
          files.push_back(name);
      }
      if (ec)
        fail(path, "cannot list the directory: " + ec.message());
      if (!files.empty() && !sets.empty())
        fail(path, "has both .npy/.npz files and test_data_set_* directories; keep one kind");
      if (files.empty() && sets.empty())
        fail(path, "has no .npy/.npz files or test_data_set_* directories; put one sample "
                   "(or a batch along axis 0) per file");
      std::sort(files.begin(), files.end(), naturalLess);
      std::sort(sets.begin(), sets.end(), naturalLess);
      for (const auto &f : files)
        addFile(fs::path(path) / f);
      for (const auto &s : sets)
        addTestDataSet(fs::path(path) / s);
    }
  } else {
    fail(path, "no such file or directory; pass a .npy/.npz file or a directory of them");
  }

  // The batch size: the first fixed leading dim; all fixed ones must agree.
  int64_t batch = -1;
  for (const auto &spec : inputs_)
    if (spec.ranked && !spec.dims.empty() && spec.dims[0] >= 0) {
      if (batch >= 0 && spec.dims[0] != batch)
        fail(path, "the model's inputs have different batch sizes (" + std::to_string(batch) +
                       " and " + std::to_string(spec.dims[0]) + " for '" + spec.name +
                       "'); calibrate needs one");
      batch = spec.dims[0];
    }

  size_t cachedBytes = 0;
  for (size_t s = 0; s < sources_.size(); ++s) {
    std::vector<Tensor> tensors = load(s);
    Source &src = *sources_[s];
    src.bytes = 1; // marks "scanned": later loads must agree with this one
    for (const Tensor &t : tensors)
      src.bytes += t.byteSize();
    if (cachedBytes + src.bytes <= options_.maxCachedBytes) {
      cachedBytes += src.bytes;
      src.cached = true;
      src.tensors = std::move(tensors);
    }
    int64_t rows = src.rows;
    if (rows < 0) {
      samples_.push_back({s, 0, -1});
      continue;
    }
    int64_t step = rows;
    if (batch == 0)
      fail(src.path, "the model's batch dimension is 0; nothing to calibrate");
    if (batch > 0) {
      step = batch;
      if (rows % batch != 0 && !src.tokens)
        fail(src.path, "holds " + std::to_string(rows) + " rows, not a multiple of the model's batch " +
                           std::to_string(batch) + "; drop or add rows");
      if (rows < batch)
        fail(src.path, "holds " + std::to_string(rows) + " token windows, fewer than the model's batch " +
                           std::to_string(batch));
      rows -= rows % batch; // token windows: the incomplete last batch is dropped
    } else if (src.tokens) {
      step = 1;
    } else if (options_.dynamicBatchRows > 0) {
      step = options_.dynamicBatchRows;
    }
    for (int64_t r = 0; r < rows; r += step)
      samples_.push_back({s, r, std::min(step, rows - r)});
  }
}

std::vector<Tensor> CalibrationDataset::sample(size_t index) const {
  const SampleRef &ref = samples_.at(index);
  const Source &src = *sources_[ref.source];
  std::vector<Tensor> tensors = src.cached ? src.tensors : load(ref.source);
  if (ref.rows < 0)
    return tensors;
  for (Tensor &t : tensors)
    t = sliceRows(t, ref.firstRow, ref.rows);
  return tensors;
}

std::string CalibrationDataset::origin(size_t index) const {
  const SampleRef &ref = samples_.at(index);
  const Source &src = *sources_[ref.source];
  if (ref.rows < 0 || (ref.firstRow == 0 && ref.rows == src.rows))
    return src.path;
  if (ref.rows == 1)
    return src.path + " row " + std::to_string(ref.firstRow);
  return src.path + " rows " + std::to_string(ref.firstRow) + ".." +
         std::to_string(ref.firstRow + ref.rows - 1);
}

int64_t CalibrationDataset::nonFiniteCount(const std::vector<Tensor> &sample) {
  int64_t bad = 0;
  for (const Tensor &t : sample)
    bad += countNonFinite(t);
  return bad;
}

void CalibrationDataset::rejectNonFinite(size_t index, const std::vector<Tensor> &sample) const {
  for (size_t i = 0; i < sample.size() && i < inputs_.size(); ++i)
    if (int64_t bad = countNonFinite(sample[i]))
      throw DatasetError(origin(index) + ": tensor '" + inputs_[i].name + "' has " +
                         std::to_string(bad) + " NaN/Inf values; clean the data or pass "
                                               "--calib-nan=skip");
}

} // namespace ds::calib
