"""GKG 2.1 parse-and-filter throughput: a zipped GKG file of N rows, a few % about our cities.

Prints rows/s through ``ingest.gdelt_files.iter_gkg`` (unzip, decode, pre-filter, split the
China rows, match cities, build Articles). Target: >= 50,000 rows/s.
Settings: GKG_ROWS (default 200000), GKG_CITY_SHARE (default 0.03), GKG_CHINA_OTHER_SHARE
(rows in China but not in a watched city, default 0.05).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.gdelt_files import GKG_COLUMNS, ParseStats, iter_gkg
from nlp.gazetteer import load_cities

ROWS = int(os.environ.get("GKG_ROWS", "200000"))
CITY_SHARE = float(os.environ.get("GKG_CITY_SHARE", "0.03"))
CHINA_OTHER_SHARE = float(os.environ.get("GKG_CHINA_OTHER_SHARE", "0.05"))
CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"

CITY_LOCATIONS = [
    "4#Wuhan, Hubei, China#CH#CH12#13116#30.5833#114.267#-1930776",
    "4#Beijing, Beijing, China#CH#CH22#13001#39.9289#116.388#-1898541",
    "4#Shanghai, Shanghai, China#CH#CH23#13049#31.2222#121.458#-1924955",
    "4#Xi'an, Shaanxi, China#CH#CH26#13178#34.2583#108.929#-1938915",
    "4#Suzhou, Jiangsu, China#CH#CH04#13086#31.3114#120.619#-1927182",
]
OTHER_CHINA = [
    "4#Harbin, Heilongjiang, China#CH#CH08#13047#45.75#126.65#-1904525",
    "4#Suzhou, Anhui, China#CH#CH01#13007#33.6361#116.979#-1927183",
    "1#China#CH#CH##35#105#CH",
]
ELSEWHERE = [
    "4#Paris, Ile-de-France, France#FR#FRA8#75056#48.8667#2.33333#-1456928",
    "3#Washington, District of Columbia, United States#US#USDC#DC001#38.8951#-77.0364#531871",
    "4#Lagos, Lagos, Nigeria#NI#NI05#NI05#6.45306#3.39583#-2014407",
]
THEMES = ";".join(f"{t},{i * 37}" for i, t in enumerate(
    ["TAX_FNCACT", "EPU_POLICY", "WB_2433_CONFLICT", "HEALTH_PANDEMIC", "ECON_STOCKMARKET",
     "TAX_ETHNICITY", "GENERAL_GOVERNMENT", "LEADER", "USPEC_POLITICS_GENERAL1", "MEDIA_MSM"]
    * 3))
GCAM = ",".join(f"c{i}.{j}:{(i * j) % 97}" for i in range(1, 40) for j in range(1, 6))


def row(number: int, rng: random.Random) -> str:
    draw = rng.random()
    if draw < CITY_SHARE:
        places = [rng.choice(CITY_LOCATIONS), rng.choice(ELSEWHERE)]
    elif draw < CITY_SHARE + CHINA_OTHER_SHARE:
        places = [rng.choice(OTHER_CHINA), rng.choice(ELSEWHERE)]
    else:
        places = rng.sample(ELSEWHERE, 2)
    fields = [""] * GKG_COLUMNS
    fields[0] = f"20200124061500-{number}"
    fields[1], fields[2], fields[3] = "20200124061500", "1", "example.com"
    fields[4] = f"https://www.example.com/news/2020/01/24/story-about-things-{number}.html"
    fields[7] = ";".join(t.partition(",")[0] for t in THEMES.split(";"))
    fields[8] = THEMES
    fields[10] = ";".join(f"{p}#{rng.randint(10, 4000)}" for p in places)
    fields[15] = "-2.53,1.9,4.4,6.3,21.2,0.4,712"
    fields[17] = "wc:712," + GCAM
    fields[25] = "srclc:fra;eng:GT-FRA 1.0" if number % 5 == 0 else ""
    return "\t".join(fields)


def main() -> None:
    rng = random.Random(7)
    cities = load_cities(CONFIG_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "20200124061500.gkg.csv.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
                archive.open("20200124061500.gkg.csv", "w") as member:
            for number in range(ROWS):
                member.write((row(number, rng) + "\n").encode())
        stats = ParseStats()
        started = time.perf_counter()
        matched = sum(1 for _article in iter_gkg(path, cities, stats=stats))
        elapsed = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
    print(f"gkg parse+filter: {stats.rows} rows ({size_mb:.1f} MB zipped) in {elapsed:.2f} s  "
          f"{stats.rows / elapsed:,.0f} rows/s  (target >= 50,000)")
    print(f"pre-filter passed {stats.candidates} rows, {matched} about watched cities, "
          f"{stats.broken} broken")


if __name__ == "__main__":
    main()
