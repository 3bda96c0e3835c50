"""Contracts: data dictionaries and the pandera rules derived from them, raw contracts, checked
at every layer (raw, staging, product) with one report shape."""

from lakehouse.contracts.check import check_schema
from lakehouse.contracts.contract import (
    Contract,
    dictionary_contract,
    dictionary_rules,
    dictionary_schema,
    load_contracts,
    load_source_contract,
)
from lakehouse.contracts.dictionary import Dictionary, load_dictionary
from lakehouse.contracts.raw import RawContract, check_raw
from lakehouse.contracts.report import ContractReport, RuleResult
from lakehouse.contracts.rules import TableRules

__all__ = [
    "Contract",
    "ContractReport",
    "Dictionary",
    "RawContract",
    "RuleResult",
    "TableRules",
    "check_raw",
    "check_schema",
    "dictionary_contract",
    "dictionary_rules",
    "dictionary_schema",
    "load_contracts",
    "load_dictionary",
    "load_source_contract",
]
