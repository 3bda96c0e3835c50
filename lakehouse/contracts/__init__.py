"""Contracts: data dictionaries and the pandera rules derived from them, checked at every layer."""
