"""Builds the optional C extension ``o2nc.torch._cpu_kernels`` (the torch shell's fused CPU step); the metadata is in
pyproject.toml. Without a C compiler, or where the build fails, the package installs without it and the shell runs
its ATen path (``o2nc.torch._native.available()`` says which)."""
from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Tries OpenMP and optimisation flags, then fewer of them, and at last installs without the extension."""

    # the last two without the x86-64 function clones, which need the loader's ifunc support (absent on musl)
    FLAG_SETS = (["-O3", "-fopenmp"], ["-O3", "-fopenmp-simd"], ["-O3", "-fopenmp-simd", "-DO2NC_NO_MULTIVERSION"],
                 ["-O3", "-DO2NC_NO_MULTIVERSION"], [])

    def build_extension(self, ext):
        if self.compiler.compiler_type == "msvc":
            flag_sets = (["/std:c11", "/O2", "/openmp"], ["/std:c11", "/O2"], ["/std:c11"])  # restrict, _Pragma
        else:
            flag_sets = self.FLAG_SETS
        for flags in flag_sets:
            ext.extra_compile_args = list(flags)
            ext.extra_link_args = [f for f in flags if "openmp" in f]
            try:
                super().build_extension(ext)
                return
            except Exception as error:  # a compiler that refuses these flags, or none at all
                last = error
        print(f"o2nc: the optional extension {ext.name} was not built ({last}); the torch shell uses its ATen path",
              file=sys.stderr)

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler found at all
            print(f"o2nc: the optional C extensions were not built ({error}); the torch shell uses its ATen path",
                  file=sys.stderr)


setup(
    ext_modules=[Extension("o2nc.torch._cpu_kernels", ["o2nc/torch/_cpu_kernels.c"], optional=True)],
    cmdclass={"build_ext": OptionalBuildExt},
)
