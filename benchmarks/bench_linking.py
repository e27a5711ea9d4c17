"""City linking throughput on one core: texts/s for title + summary (~300 characters).

Texts: real NYT 2020 headlines + abstracts from ../shared/realdata when present, mixed with
multilingual sentences in 15 scripts/languages; target well above 3,000 texts/s.
Run: .venv/bin/python benchmarks/bench_linking.py
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nlp.cities import CityLinker  # noqa: E402
from nlp.gazetteer import load_cities  # noqa: E402

NYT = REPO_ROOT.parent / "shared" / "realdata" / "news" / "nyt2020" / "nyt2020.csv"
TARGET_TEXTS_PER_S = 3000

MULTILINGUAL = [
    ("en", "Beijing said on Monday it would retaliate.\n\nResidents of Wuhan queued for tests "
           "as Shanghai and Shenzhen tightened rules; officials in Xi'an denied any new cases."),
    ("fr", "Pékin a dénoncé les sanctions américaines.\n\nÀ Wuhan, les habitants sortent après "
           "76 jours de confinement, tandis que Canton et Chengdu rouvrent leurs marchés."),
    ("de", "Peking droht mit Vergeltung.\n\nIn Wuhan öffnen die Geschäfte wieder; Nanjing und "
           "Hangzhou melden keine neuen Fälle, während Tianjin die Kontrollen verschärft."),
    ("es", "Pekín acusa a Washington.\n\nEn Wuhan, la vida vuelve poco a poco a la normalidad; "
           "Chongqing y Suzhou, cerca de Shanghái, reabren sus fábricas."),
    ("ru", "Пекин заявил протест.\n\nВ Ухане сняли карантин, жители Шанхая и Нанкина "
           "возвращаются на работу, а из Сианя приходят новости о туристах."),
    ("zh", "北京政府表示将采取措施。\n\n武汉解除封城，上海、深圳、成都和杭州的工厂复工，"
           "郑州和长沙也恢复正常。"),
    ("ja", "武漢で封鎖解除\n\n北京や上海でも経済活動が再開し、ウーハンの住民は外出を始めた。"),
    ("ko", "우한 봉쇄 해제\n\n베이징과 상하이에서도 경제 활동이 재개되었고 "
           "광저우의 공장도 문을 열었다."),
    ("ar", "بكين تتهم واشنطن\n\nرفع الإغلاق في ووهان بعد 76 يوما، وعادت الحياة في شنغهاي."),
    ("th", "อู่ฮั่นยกเลิกล็อกดาวน์\n\nปักกิ่งและเซี่ยงไฮ้เริ่มกลับมาเปิดธุรกิจอีกครั้ง"),
    ("hi", "वुहान में लॉकडाउन खत्म\n\nबीजिंग और शंघाई में भी कारोबार फिर से शुरू हुआ।"),
    ("vi", "Vũ Hán dỡ bỏ phong tỏa\n\nBắc Kinh và Thượng Hải cũng mở cửa trở lại."),
]


def load_texts() -> list[tuple[str | None, str]]:
    texts: list[tuple[str | None, str]] = list(MULTILINGUAL)
    if NYT.is_file():
        with NYT.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts.append(("en", f"{row['headline']}\n\n{row['abstract']}"))
    return texts


def main() -> None:
    started = time.perf_counter()
    linker = CityLinker.from_config(REPO_ROOT / "config")
    build_s = time.perf_counter() - started
    texts = load_texts()
    corpus = (texts * (20_000 // len(texts) + 1))[:20_000]
    mean_chars = sum(len(text) for _, text in corpus) / len(corpus)
    for language, text in corpus[:500]:  # warm-up
        linker.link(text, language)
    mentions = 0
    started = time.perf_counter()
    for language, text in corpus:
        found = linker.link(text, language)
        linker.relevance(found, text)
        mentions += len(found)
    elapsed = time.perf_counter() - started
    rate = len(corpus) / elapsed
    n_forms = sum(len(city.all_names()) for city in load_cities(REPO_ROOT / "config"))
    print(f"city linking: {len(corpus)} texts (mean {mean_chars:.0f} chars, "
          f"{'with' if NYT.is_file() else 'without'} NYT real data), {n_forms} surface forms")
    print(f"  linker build: {build_s * 1000:.0f} ms (with the metonymy model and its tokenizer)")
    print(f"  link + relevance: {rate:,.0f} texts/s on one core "
          f"({elapsed / len(corpus) * 1e6:.1f} us/text), {mentions} mentions")
    verdict = "OK" if rate >= TARGET_TEXTS_PER_S else "MISSED"
    print(f"  target >= {TARGET_TEXTS_PER_S:,} texts/s: {verdict}")


if __name__ == "__main__":
    main()
