# lit configuration for ds-optimize's FileCheck tests (tests/lit/<component>/*.mlir).
import os
import lit.formats

config.name = "ds-optimize"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ds_build_dir, "tests", "lit")

config.environment["PATH"] = os.pathsep.join(
    [config.ds_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%repo", config.ds_source_dir))
