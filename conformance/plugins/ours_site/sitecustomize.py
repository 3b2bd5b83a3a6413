"""Install the ``datajoint`` -> ``datajoint_core`` shim in every interpreter of the ours run.

On ``PYTHONPATH`` only for the run on datajoint_core, so the suite's subprocesses
(``python -m datajoint.cli``) see the same mapping as the pytest process. Importing ``dj_alias``
(beside this directory on ``PYTHONPATH``) installs it.
"""

import dj_alias  # noqa: F401
