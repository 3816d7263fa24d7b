"""Build of the one compiled module, `processor._ctree` (everything else is in pyproject.toml).

The module reads lxml's trees in C and is compiled against the headers of the lxml in the build
environment. It is optional: without a C compiler the install goes on and the Python code it
stands in for gives the same answers more slowly (issue #9).
"""

import lxml
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "processor._ctree",
            ["processor/_ctree.pyx"],
            include_dirs=lxml.get_include(),
            optional=True,
        )
    ]
)
