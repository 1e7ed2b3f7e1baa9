"""Synthetic BPJS Ketenagakerjaan extracts for Kota Malang (see docs and the extract interface)."""

from cakupan.generator.generate import GenerateSummary, generate

__all__ = ["GenerateSummary", "generate"]
