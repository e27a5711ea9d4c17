"""Tagging throughput with the default pipeline: articles/s and peak RSS.

Builds ~5,000 varied multilingual title + summary articles (11 languages, 15 cities, topics
from health to food, positive and negative), tags them with Tagger.from_config(config/) and
prints model load time, articles/s (target >= 300/s on 2 cores; the demo wants >= 800/s) and
peak RSS. Run: .venv/bin/python benchmarks/bench_tagging.py [N] [--config DIR]
(--config: another config folder, e.g. a copy whose nlp.yaml says ``sentiment.backend: e5``).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from cityradar.records import Article  # noqa: E402
from nlp.pipeline import Tagger  # noqa: E402

TARGET_PER_S = 300
DEMO_PER_S = 800

CITIES = {
    "en": ["Beijing", "Shanghai", "Wuhan", "Chengdu", "Guangzhou", "Shenzhen", "Xi'an",
           "Hangzhou", "Chongqing", "Nanjing", "Tianjin", "Suzhou", "Zhengzhou", "Changsha",
           "Shenyang"],
    "fr": ["Pékin", "Shanghai", "Wuhan", "Chengdu", "Canton", "Shenzhen", "Xi'an", "Hangzhou"],
    "de": ["Peking", "Shanghai", "Wuhan", "Chengdu", "Kanton", "Shenzhen", "Nanjing"],
    "es": ["Pekín", "Shanghái", "Wuhan", "Chengdú", "Cantón", "Shenzhen", "Chongqing"],
    "it": ["Pechino", "Shanghai", "Wuhan", "Chengdu", "Canton", "Hangzhou"],
    "pt": ["Pequim", "Xangai", "Wuhan", "Chengdu", "Cantão", "Shenzhen"],
    "ru": ["Пекин", "Шанхай", "Ухань", "Чэнду", "Гуанчжоу", "Шэньчжэнь"],
    "zh": ["北京", "上海", "武汉", "成都", "广州", "深圳", "西安", "杭州", "重庆", "南京"],
    "ja": ["北京", "上海", "武漢", "成都", "広州", "深圳"],
    "ko": ["베이징", "상하이", "우한", "청두", "광저우"],
    "ar": ["بكين", "شنغهاي", "ووهان", "تشنغدو"],
}
TEMPLATES = {
    "en": [("{c}: coronavirus outbreak deepens as hospitals struggle",
            "Officials in {c} reported new deaths while residents faced a strict lockdown."),
           ("{c} celebrates pandas and street food festival",
            "Tourists flocked to {c} for delicious hotpot, and hotels reported record growth."),
           ("Police crackdown on protest in {c} draws sanctions threat",
            "Activists said dozens were detained; the government denied any abuse."),
           ("{c} tech startups bet on artificial intelligence",
            "Investors see opportunity as the economy recovers, but chip shortages remain."),
           ("Floods hit {c}, thousands evacuated",
            "Torrential rainfall caused landslides; rescue teams searched for the missing.")],
    "fr": [("{c} : l'épidémie s'aggrave, les hôpitaux débordés",
            "Les autorités de {c} annoncent de nouveaux décès et prolongent le confinement."),
           ("{c} célèbre sa cuisine et ses pandas",
            "Les touristes affluent à {c} pour un festival délicieux et populaire.")],
    "de": [("{c}: Hochwasser zwingt Tausende zur Evakuierung",
            "In {c} sind nach schweren Überschwemmungen viele Menschen gestorben."),
           ("{c} feiert Erfolg bei der Universiade",
            "Die Athleten gewinnen Medaillen, und die Wirtschaft erholt sich.")],
    "es": [("{c} reabre sus museos tras meses de cierre",
            "La cultura vuelve a {c} con gran éxito y mucha alegría."),
           ("Brote de coronavirus en {c}: crisis sanitaria",
            "Las autoridades de {c} confirman nuevas muertes y un confinamiento estricto.")],
    "it": [("{c}, la città dei musei e della cultura",
            "I turisti tornano a {c}: una ripresa meravigliosa per gli alberghi."),
           ("Epidemia a {c}: ospedali al collasso",
            "Le autorità di {c} confermano nuovi morti e una quarantena severa.")],
    "pt": [("{c} celebra festival de comida de rua",
            "Turistas elogiam a culinária deliciosa de {c}."),
           ("Surto de vírus em {c} provoca crise",
            "Autoridades de {c} confirmam mortes e prolongam a quarentena.")],
    "ru": [("В городе {c} вспышка коронавируса",
            "Власти города {c} сообщили о новых погибших и продлили карантин."),
           ("{c} празднует успех фестиваля",
            "Туристы в восторге от вкусной еды и красивых парков города {c}.")],
    "zh": [("{c}疫情严重，医院压力巨大", "{c}宣布封城，确诊病例和死亡人数继续上升。"),
           ("{c}大熊猫基地吸引大批游客", "{c}的火锅和小吃很受欢迎，旅游业强劲复苏。")],
    "ja": [("{c}で新型コロナの感染拡大", "{c}では死者が増え、病院が混乱している。"),
           ("{c}のグルメと観光が人気", "{c}の屋台料理は美味しく、観光客で賑わっている。")],
    "ko": [("{c} 코로나 확진자 급증", "{c} 당국은 봉쇄를 연장했고 사망자가 늘었다."),
           ("{c} 판다와 음식 축제 인기", "{c}의 맛있는 음식을 찾는 관광객이 늘었다.")],
    "ar": [("تفشي فيروس كورونا في {c}", "أعلنت السلطات في {c} عن وفيات جديدة وإغلاق المدينة."),
           ("احتفالات رائعة في {c}", "السياح يشيدون بالطعام اللذيذ في {c}.")],
}
WEIGHTS = {"en": 40, "fr": 8, "de": 8, "es": 8, "it": 5, "pt": 5, "ru": 6, "zh": 8, "ja": 5,
           "ko": 4, "ar": 3}


def build_articles(count: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    languages = list(WEIGHTS)
    articles: list[Article] = []
    for n in range(count):
        language = rng.choices(languages, weights=[WEIGHTS[x] for x in languages])[0]
        title, summary = rng.choice(TEMPLATES[language])
        city, other = rng.sample(CITIES[language], 2)
        summary = summary.format(c=other if rng.random() < 0.3 else city)
        if rng.random() < 0.3:  # some summaries carry a second sentence
            _title, extra_summary = rng.choice(TEMPLATES[language])
            summary += " " + extra_summary.format(c=other)
        hint = language if rng.random() < 0.5 else None
        articles.append(Article(id=f"bench-{n}", url=f"https://bench.test/{n}",
                                title=title.format(c=city), summary=summary, language_hint=hint))
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=5000)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "config")
    args = parser.parse_args()
    articles = build_articles(args.count)
    started = time.perf_counter()
    tagger = Tagger.from_config(args.config)
    loaded = time.perf_counter() - started
    tagger.tag(articles[:50])  # warm-up
    started = time.perf_counter()
    tagged = tagger.tag(articles)
    elapsed = time.perf_counter() - started
    rate = len(tagged) / elapsed
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mean_chars = sum(len(a.title) + len(a.summary) for a in articles) / len(articles)
    with_city = sum(bool(a.tags and a.tags.cities) for a in tagged) / len(tagged)
    print(f"tagging: {len(tagged)} articles ({mean_chars:.0f} chars mean, "
          f"{len(WEIGHTS)} languages) in {elapsed:.2f} s = {rate:.0f} articles/s "
          f"(target >= {TARGET_PER_S}/s, demo wants >= {DEMO_PER_S}/s: "
          f"{'met' if rate >= DEMO_PER_S else 'below'})")
    print(f"tagging: model load {loaded:.1f} s; peak RSS {peak_mib:.0f} MiB; "
          f"{with_city:.0%} of articles linked to a city")


if __name__ == "__main__":
    main()
