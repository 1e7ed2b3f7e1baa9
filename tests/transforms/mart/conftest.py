"""A small city whose coverage figures can be worked out by hand."""

import pytest

from ..conftest import account, employer, kpj, nik

AS_OF = "2025-06-30"


@pytest.fixture
def five_covered(pipeline):
    """Workforce 2025: C 10 (6 formal), G 20 (5 formal), 30 in all; five covered persons."""
    pipeline.set_workforce(2025, {"C": (10, 6), "G": (20, 5)})
    pipeline.deliver("employers", AS_OF, [employer("10000001", kbli="10110")])
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1)),                                           # C formal
        account(kpj(2), nik(2), district="SUKUN"),                         # C formal
        account(kpj(3), nik(3), "BPU", kbli="47111"),                      # G informal
        account(kpj(4), nik(4), "BPU", kbli="47111", contribution_source="APBD"),  # G vulnerable
        account(kpj(5), nik(5), npp="10000099"),                           # X formal: employer unknown
    ])
    return pipeline
