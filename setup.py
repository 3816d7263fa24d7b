"""Build of the one compiled module, `processor._docx_scan` (everything else is in pyproject.toml).

The module reads lxml's tree in C and is compiled against the headers of the lxml in the build
environment. It is optional: without a C compiler the install goes on and `extract_docx` uses the
Python scan, which gives the same answer more slowly (issue #9).
"""

import lxml
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "processor._docx_scan",
            ["processor/_docx_scan.pyx"],
            include_dirs=lxml.get_include(),
            optional=True,
        )
    ]
)
