"""MNAS Explorer core: platform-aware neural architecture search (Tan et al., CVPR 2019).

Importing the package does nothing but define names; every module is imported on use.
"""

__version__ = "0.1.0"
