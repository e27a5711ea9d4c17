"""CityRadar: overseas public-opinion risk monitor for cities."""

__version__ = "0.1.0"
