"""City linking: the watched cities found in every script, with exact offsets, metonymy and
homonyms told apart, and common words that merely contain a name left alone."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cityradar.config import ConfigError
from cityradar.records import CityMention, Tags
from nlp.cities import CityLinker
from nlp.gazetteer import load_cities

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


@pytest.fixture(scope="module")
def linker() -> CityLinker:
    return CityLinker.from_config(CONFIG_DIR)


def links(linker: CityLinker, text: str, language: str | None = None) -> list[tuple]:
    mentions = linker.link(text, language)
    for mention in mentions:
        assert text[mention.start:mention.end] == mention.surface
    return [(m.city, m.surface, m.start, m.end) for m in mentions]


def span(text: str, surface: str, nth: int = 0) -> tuple[str, int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return surface, start, start + len(surface)


MULTILINGUAL = [
    ("en", "Lockdown lifted in Wuhan as Shanghai reopens", [("wuhan", "Wuhan"),
                                                        ("shanghai", "Shanghai")]),
    ("fr", "Les habitants de Wuhan et de Canton respirent", [("wuhan", "Wuhan"),
                                                          ("guangzhou", "Canton")]),
    ("de", "Neue Fälle in Peking, Nanking und Tschungking", [("beijing", "Peking"),
                                                          ("nanjing", "Nanking"),
                                                          ("chongqing", "Tschungking")]),
    ("es", "Turistas en Pekín y en Cantón", [("beijing", "Pekín"), ("guangzhou", "Cantón")]),
    ("it", "Voli da Pechino a Nanchino", [("beijing", "Pechino"), ("nanjing", "Nanchino")]),
    ("pt", "Chuvas em Pequim e Xangai", [("beijing", "Pequim"), ("shanghai", "Xangai")]),
    ("ru", "Карантин в Ухане и Шанхае", [("wuhan", "Ухане"), ("shanghai", "Шанхае")]),
    ("uk", "Новини з Пекіна та Ухані", [("beijing", "Пекіна"), ("wuhan", "Ухані")]),
    ("ar", "إغلاق في ووهان وشنغهاي", [("wuhan", "ووهان"), ("shanghai", "شنغهاي")]),
    ("fa", "قرنطینه در ووهان و پکن", [("wuhan", "ووهان"), ("beijing", "پکن")]),
    ("he", "סגר בווהאן ובשנגחאי", [("wuhan", "ווהאן"), ("shanghai", "שנגחאי")]),
    ("ja", "武漢で封鎖解除、ペキンと上海も", [("wuhan", "武漢"), ("beijing", "ペキン"),
                                        ("shanghai", "上海")]),
    ("ko", "우한에서 베이징까지", [("wuhan", "우한"), ("beijing", "베이징")]),
    ("zh", "武汉解封，深圳和重庆复工", [("wuhan", "武汉"), ("shenzhen", "深圳"),
                                 ("chongqing", "重庆")]),
    ("zh-Hant", "武漢解封，廣州與瀋陽復工", [("wuhan", "武漢"), ("guangzhou", "廣州"),
                                     ("shenyang", "瀋陽")]),
    ("vi", "Vũ Hán mở cửa, Thượng Hải và Bắc Kinh cũng vậy", [("wuhan", "Vũ Hán"),
                                                          ("shanghai", "Thượng Hải"),
                                                          ("beijing", "Bắc Kinh")]),
    ("th", "อู่ฮั่นยกเลิกล็อกดาวน์ส่วนปักกิ่งยังเข้มงวด", [("wuhan", "อู่ฮั่น"),
                                                    ("beijing", "ปักกิ่ง")]),
    ("hi", "वुहान और बीजिंग में लॉकडाउन", [("wuhan", "वुहान"), ("beijing", "बीजिंग")]),
    ("el", "Καραντίνα στη Γουχάν και στο Πεκίνο", [("wuhan", "Γουχάν"), ("beijing", "Πεκίνο")]),
    ("tr", "Vuhan ve Şanghay'da karantina", [("wuhan", "Vuhan"), ("shanghai", "Şanghay")]),
    ("pl", "Kwarantanna w Wuhanie i Szanghaju", [("wuhan", "Wuhanie"), ("shanghai", "Szanghaju")]),
]


@pytest.mark.parametrize(("language", "text", "expected"), MULTILINGUAL,
                         ids=[case[0] for case in MULTILINGUAL])
def test_cities_are_found_in_every_script_with_exact_offsets(
    linker: CityLinker, language: str, text: str, expected: list[tuple[str, str]]
) -> None:
    assert links(linker, text, language) == [
        (city, *span(text, surface)) for city, surface in expected
    ]


def test_literal_offsets_after_astral_characters_and_newlines(linker: CityLinker) -> None:
    text = "🙂 Wuhan\n\n北京🙂Пекине"
    assert links(linker, text) == [
        ("wuhan", "Wuhan", 2, 7), ("beijing", "北京", 9, 11), ("beijing", "Пекине", 12, 18)
    ]


def test_russian_inflected_forms_match_but_not_longer_words(linker: CityLinker) -> None:
    text = "Из Уханя в Ухань, о Ухане, к Уханю, с Уханем. Пекинес и пекинская утка. Пекином"
    assert [m[1] for m in links(linker, text, "ru")] == [
        "Уханя", "Ухань", "Ухане", "Уханю", "Уханем", "Пекином"
    ]


def test_xian_spellings_and_apostrophe_styles(linker: CityLinker) -> None:
    variants = [
        "Xi'an", "Xi’an", "Xi‘an", "Xiʼan", "Xian", "Xi-an", "XI'AN", "xi’an", "Сиане", "西安"
    ]
    text = "; ".join(variants)
    assert [(m[0], m[1]) for m in links(linker, text)] == [("xian", v) for v in variants]


def test_historical_romanizations(linker: CityLinker) -> None:
    text = ("Peking, Peiping, Canton, Chungking, Nanking, Hsian, Hsi-an, Mukden, Fengtien, "
            "Tientsin, Hangchow, Soochow gardens, Chengtu, Hankow")
    assert [m[0] for m in links(linker, text, "en")] == [
        "beijing", "beijing", "guangzhou", "chongqing", "nanjing", "xian", "xian", "shenyang",
        "shenyang", "tianjin", "hangzhou", "suzhou", "chengdu", "wuhan",
    ]


def test_diacritics_and_case_are_ignored(linker: CityLinker) -> None:
    text = "Pékin, Pekin, PÉKIN, Pekín, Pe\u0301kin"  # the last one with a combining accent
    found = links(linker, text)
    assert [m[1] for m in found] == ["Pékin", "Pekin", "PÉKIN", "Pekín", "Pe\u0301kin"]
    assert found[-1][2:] == (28, 34)


@pytest.mark.parametrize(
    ("language", "text", "surface"),
    [
        ("en", "Beijing said on Monday it would retaliate.", "Beijing"),
        ("en", "John Bolton accused Trump of supporting Beijing's crackdown.", "Beijing"),
        ("en", "Beijing accused Washington of meddling.", "Beijing"),
        ("en", "It will ratchet up tensions between Washington and Beijing.", "Beijing"),
        ("en", "Hong Kong's pro-Beijing camp lost the vote.", "Beijing"),
        ("en", "Under pressure from Beijing, the airline apologised.", "Beijing"),
        ("en", "With Beijing’s military nearby, the US sent two carriers.", "Beijing"),
        ("fr", "Pékin a dénoncé les sanctions américaines.", "Pékin"),
        ("fr", "Pékin accuse Washington d'ingérence.", "Pékin"),
        ("de", "Peking droht mit Gegenmaßnahmen.", "Peking"),
        ("de", "Der Druck aus Peking wächst.", "Peking"),
        ("es", "Pekín acusa a Estados Unidos de injerencia.", "Pekín"),
        ("ru", "Пекин заявил решительный протест.", "Пекин"),
        ("ru", "Официальный Пекин отверг обвинения.", "Пекин"),
        ("zh", "北京政府回应了美国的指责。", "北京"),
        ("zh", "北京当局拒绝置评。", "北京"),
    ],
)
def test_beijing_for_the_government_is_a_government_mention(
    linker: CityLinker, language: str, text: str, surface: str
) -> None:
    mentions = linker.link(text, language)
    assert [(m.city, m.surface, m.kind) for m in mentions] == [("beijing", surface, "government")]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Residents in Beijing queued for tests."),
        ("en", "Beijing residents said the market was crowded."),
        ("en", "Beijing's Xinfadi market was closed after new cases."),
        ("en", "Schools shut in Beijing as coronavirus flares."),
        ("en", "Beijing, the capital, reported 36 new cases."),
        ("fr", "À Pékin, les habitants font la queue."),
        ("de", "In Peking regnet es seit Tagen."),
        ("es", "Vivo en Pekín desde 2015."),
        ("ru", "В Пекине закрыли рынок Синьфади."),
        ("zh", "在北京的外国人越来越多。"),
        ("zh", "北京市政府宣布新措施。"),
        ("en", "The Beijing Winter Olympics open in February."),
    ],
)
def test_beijing_the_place_stays_a_place(linker: CityLinker, language: str, text: str) -> None:
    assert [(m.city, m.kind) for m in linker.link(text, language)] == [("beijing", "place")]


def test_metonymy_rules_follow_the_language_and_apply_to_metonym_cities_only(
    linker: CityLinker,
) -> None:
    assert linker.link("Wuhan said it would lift the lockdown.", "en")[0].kind == "place"
    # without a language every language's rules apply
    assert linker.link("Пекин заявил протест.")[0].kind == "government"
    # without metonymy rules every mention is a place
    plain = CityLinker(load_cities(CONFIG_DIR))
    assert plain.link("Beijing said so.", "en")[0].kind == "place"


def test_bare_suzhou_is_the_study_city_and_an_anhui_cue_drops_it(linker: CityLinker) -> None:
    def cities(text: str) -> list[str]:
        return [m.city for m in linker.link(text, "en")]

    # issue 13: the famous Suzhou is the study city; only Anhui context points elsewhere
    assert cities("Suzhou factory output rose 5%.") == ["suzhou"]
    assert [m.city for m in linker.link("Tô Châu thu hút du khách", "vi")] == ["suzhou"]
    assert cities("Suzhou factory output rose 5%, Anhui officials said.") == []
    assert cities("Suzhou, an hour from Shanghai, is famous for its gardens.") == [
        "suzhou", "shanghai"
    ]
    assert cities("Suzhou in Jiangsu province opened a new metro line.") == ["suzhou"]
    assert cities("Suzhou (苏州) attracts investors.") == ["suzhou", "suzhou"]
    assert cities("A coal mine near Suzhou, Anhui province, flooded.") == []
    assert cities("A coal mine near Suzhou flooded, 宿州 officials said.") == []
    assert cities("苏州工业园区") == ["suzhou"]
    assert cities("宿州市") == []
    assert cities("Сучжоу, провинция Цзянсу") == ["suzhou"]


@pytest.mark.parametrize(
    "text",
    [
        "The Wuhanese dialect is hard to follow.",
        "The canton of Zurich voted on Sunday.",
        "Canton, Ohio, hosts the Pro Football Hall of Fame.",
        "Le canton de Vaud et le Canton de Genève.",
        "Il Canton Ticino ha chiuso le scuole.",
        "Der Kanton Zürich hat neue Regeln.",
        "Sian Williams presented the news.",
        "这个长沙发很舒服。",
        "江西安全生产会议",
        "他们变成都市人了。",
        "上海の南京路は賑やかだ。南京錠をかけた。",
        "Quần đảo Trường Sa là nơi tranh chấp.",
        "Pekingese dogs and Pekinese breeders.",
        "",
    ],
)
def test_common_words_containing_a_name_are_not_mentions(linker: CityLinker, text: str) -> None:
    found = [m for m in linker.link(text) if m.city != "shanghai"]
    assert found == []


def test_canton_is_guangzhou_when_capitalised_and_not_a_swiss_canton(linker: CityLinker) -> None:
    text = "The Canton Fair in Canton drew buyers; the canton of Bern did not."
    assert links(linker, text, "en") == [
        ("guangzhou", *span(text, "Canton")), ("guangzhou", *span(text, "Canton", 1))
    ]
    assert [m.city for m in linker.link("Kanton und die Kanton-Messe in Guangdong", "de")] == [
        "guangzhou", "guangzhou"
    ]


def test_names_next_to_other_scripts_and_with_clitics(linker: CityLinker) -> None:
    assert links(linker, "他在Wuhan工作") == [("wuhan", "Wuhan", 2, 7)]
    text = "وبكين وبووهان"
    assert [m[0] for m in links(linker, text, "ar")] == ["beijing", "wuhan"]
    assert links(linker, "우한에서") == [("wuhan", "우한", 0, 2)]
    assert links(linker, "가우한") == []


def test_relevance_rewards_the_lead_and_repetition(linker: CityLinker) -> None:
    title, summary = "Wuhan lifts lockdown", (
        "After 76 days, residents can leave. Wuhan's trains run again; Wuhan's shops "
        "reopen. A flight from Beijing landed."
    )
    text = Tags.text_of(title, summary)
    relevance = linker.relevance(linker.link(text, "en"), text)
    assert set(relevance) == {"wuhan", "beijing"}
    assert 0 < relevance["beijing"] < relevance["wuhan"] <= 1
    assert relevance["beijing"] == pytest.approx(0.3)
    assert relevance["wuhan"] == pytest.approx(0.4 + 0.6 * (1 - 0.5**3), abs=1e-3)


def test_relevance_counts_a_government_mention_as_half(linker: CityLinker) -> None:
    text = "Trade\n\nOfficials met. Then Beijing said no. Then the Beijing marathon went on."
    mentions = linker.link(text, "en")
    assert [m.kind for m in mentions] == ["government", "place"]
    only_place = [m for m in mentions if m.kind == "place"]
    expected = 0.6 * (1 - 0.5**1.5)
    assert linker.relevance(mentions, text)["beijing"] == pytest.approx(expected, abs=1e-3)
    assert linker.relevance(only_place, text)["beijing"] == pytest.approx(0.3)
    assert linker.relevance([], text) == {}
    mention = CityMention("wuhan", "Wuhan", 0, 5)
    assert linker.relevance([mention], "Wuhan") == {"wuhan": 0.7}


def test_bad_metonymy_rules_name_the_field(tmp_path: Path) -> None:
    rules = tmp_path / "metonymy.yaml"
    rules.write_text("languages:\n  en:\n    government_after:\n      - '\\s+(said'\n", "utf-8")
    with pytest.raises(ConfigError, match=r"languages\.en\.government_after\[0\]: bad regex"):
        CityLinker(load_cities(CONFIG_DIR), rules)
    rules.write_text("languages:\n  en:\n    goverment_after: []\n", "utf-8")
    with pytest.raises(ConfigError, match="unknown rule list 'goverment_after'"):
        CityLinker(load_cities(CONFIG_DIR), rules)


@pytest.mark.realdata
def test_real_nyt_headlines_link_with_sound_offsets_and_metonymy(
    linker: CityLinker, realdata: Path
) -> None:
    rows = list(csv.DictReader((realdata / "news/nyt2020/nyt2020.csv").open(encoding="utf-8")))
    kinds: dict[str, str] = {}
    wuhan_texts = found_wuhan = 0
    for row in rows:
        text = Tags.text_of(row["headline"], row["abstract"])
        mentions = linker.link(text, "en")
        for mention in mentions:
            assert text[mention.start:mention.end] == mention.surface
            if mention.city == "beijing":
                kinds[text[max(0, mention.start - 20):mention.end + 20]] = mention.kind
        if " wuhan" in f" {text.lower()}":
            wuhan_texts += 1
            found_wuhan += any(m.city == "wuhan" for m in mentions)
    assert wuhan_texts > 5 and found_wuhan == wuhan_texts
    def kind_of(snippet: str) -> set[str]:
        return {kind for context, kind in kinds.items() if snippet in context}

    assert kind_of("for pro-Beijing political") == {"government"}
    assert kind_of("appearance in Beijing.") == {"place"}
    assert kind_of("Beijing said it had revoked") == {"government"}


@pytest.mark.parametrize(
    ("text", "language", "surface"),
    [
        ("Шанхайская биржа закрылась ростом", "ru", "Шанхайская"),
        ("пекинского режима", "ru", "пекинского"),
        ("Giełda szanghajska rośnie, a w Pekinem", "pl", "szanghajska"),
        ("深センの工場で火災", "ja", "深セン"),
        ("深玔の新しい空港", "ja", "深玔"),
    ],
)
def test_adjectival_and_variant_forms_are_mentions(
    linker: CityLinker, text: str, language: str, surface: str
) -> None:
    assert surface in [m.surface for m in linker.link(text, language)]


def test_peking_duck_is_not_beijing(linker: CityLinker) -> None:
    assert linker.link("Рецепт: пекинская утка дома", "ru") == []


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Pechino ha protestato contro la visita del ministro", "it"),
        ("Bắc Kinh tuyên bố sẽ trả đũa", "vi"),
        ("Peking eist excuses van Londen", "nl"),
        ("Peking hat scharf protestiert", "de"),
        ("Pekin ostrzega Waszyngton przed sankcjami", "pl"),
        ("Pekin, ABD'yi sert bir dille uyardı", "tr"),
        ("Пекинские власти ввели ответные санкции", "ru"),
        ("حذرت بكين واشنطن من العواقب", "ar"),
        ("베이징은 미국의 조치에 강하게 반발했다", "ko"),
        ("Selon Pékin, la visite est une provocation", "fr"),
        ("Peking varuje Washington", "cs"),
    ],
)
def test_government_reading_from_the_verb_around_the_name(
    linker: CityLinker, text: str, language: str
) -> None:
    assert [m.kind for m in linker.link(text, language)] == ["government"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Người dân Bắc Kinh đeo khẩu trang", "vi"),
        ("In Peking regent het al dagen", "nl"),
        ("Pekin'de hava kirliliği arttı", "tr"),
        ("Mieszkańcy Pekinu czekają na wiosnę", "pl"),
    ],
)
def test_the_city_itself_stays_a_place(linker: CityLinker, text: str, language: str) -> None:
    assert [m.kind for m in linker.link(text, language)] == ["place"]


@pytest.mark.parametrize(
    ("text", "language", "city", "surface"),
    [
        # German/Dutch genitive -s and place adjective -er/-se, derived by grammar
        ("Wuhans Behörden öffnen die Märkte wieder", "de", "wuhan", "Wuhans"),
        ("Hangzhous Seen ziehen Besucher an", "de", "hangzhou", "Hangzhous"),
        ("Die Nanjinger Messe beginnt heute", "de", "nanjing", "Nanjinger"),
        ("De Shanghaise beurs sloot hoger", "nl", "shanghai", "Shanghaise"),
        # Polish and Czech case endings of names ending in a consonant
        ("Powódź w Shenyangu zalała piwnice", "pl", "shenyang", "Shenyangu"),
        ("Pociąg pod Chongqingiem wykoleił się", "pl", "chongqing", "Chongqingiem"),
        ("Festiwal w Kantonie przyciąga tłumy", "pl", "guangzhou", "Kantonie"),
        ("Letiště v Nankingu bylo uzavřeno", "cs", "nanjing", "Nankingu"),
        # Korean: an ambiguous name followed by a locative particle or a place noun
        ("선양에서 대규모 전시회가 열렸다", "ko", "shenyang", "선양"),
        ("선전 도심에 새 지하철 노선이 개통됐다", "ko", "shenzhen", "선전"),
        # coordination with another watched city
        ("Thành Đô và Trường Sa thu hút du khách", "vi", "changsha", "Trường Sa"),
        # round three: Swedish, Hindi, Hebrew, Czech, Ukrainian
        ("Pekings tunnelbana byggs ut", "sv", "beijing", "Pekings"),  # Swedish genitive -s
        ("Båten seglade till Kanton", "sv", "guangzhou", "Kanton"),  # sv writes 'kanton' lower case
        ("सुझोऊ के बाग़ों में पर्यटकों की भीड़", "hi", "suzhou", "सुझोऊ"),  # long final u
        ("मेट्रो झेंगझोऊ में बंद", "hi", "zhengzhou", "झेंगझोऊ"),
        ("מפעל חדש נפתח בשנז'ן", "he", "shenzhen", "שנז'ן"),  # zayin-geresh spelling
        ("מפעלים בצ'אנגשה ובשיאן", "he", "xian", "שיאן"),  # coordinated with ו + ב
        ("V Čchang-še otevřeli nové muzeum", "cs", "changsha", "Čchang-še"),
        ("Kantonská kuchyně dobývá Prahu", "cs", "guangzhou", "Kantonská"),
        ("Тяньцзіньський порт б'є рекорди", "uk", "tianjin", "Тяньцзіньський"),
        ("Уханський вокзал знову відкрито", "uk", "wuhan", "Уханський"),
    ],
)
def test_inflected_adjectival_and_coordinated_forms_are_found(
    linker: CityLinker, text: str, language: str, city: str, surface: str
) -> None:
    assert (city, surface) in [(m.city, m.surface) for m in linker.link(text, language)]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("W kantonie Berno spadł śnieg", "pl"),  # the Swiss canton, lower case in Polish
        ("Der Kanton Zürich senkt die Steuern", "de"),  # German capitalises every noun
        ("정부는 새 제도 시안을 발표했다", "ko"),  # 시안 "draft"
        ("중국 선전 매체가 미국을 비난했다", "ko"),  # 선전 "propaganda"
    ],
)
def test_common_nouns_sharing_a_name_stay_out(
    linker: CityLinker, text: str, language: str
) -> None:
    assert linker.link(text, language) == []


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("北京は、日本産水産物の輸入を全面的に停止すると発表した", "ja"),
        ("北京、米国の半導体規制に強く反発", "ja"),
        ("北京与柏林签署了新的合作协议", "zh"),
        ("베이징은 미국산 반도체 수입을 금지했다", "ko"),
        ("Pekin, ABD'li şirketlere yaptırım uyguladı", "tr"),
        ("Bắc Kinh hôm qua phê chuẩn hiệp định thương mại", "vi"),
        ("Authorities in Beijing approved the merger", "en"),
        ("Beijing and Canberra signed a trade deal", "en"),
        ("Wie Peking mitteilte, wird der Minister nach Paris reisen", "de"),
        ("La politique de Pékin irrite Bruxelles", "fr"),
        ("Represje Pekinu potępiło wiele państw", "pl"),
        ("Кампания Пекина против техногигантов продолжается", "ru"),
        ("Pekings harde lijn stuit op kritiek", "nl"),
    ],
)
def test_government_verbs_and_nouns_in_every_word_order(
    linker: CityLinker, text: str, language: str
) -> None:
    assert [m.kind for m in linker.link(text, language)] == ["government"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("北京は大雨に見舞われ、地下鉄の一部区間が運行を停止した", "ja"),
        ("베이징은 폭우로 지하철 운행이 중단됐다", "ko"),
        ("Pekings Altstadt lockt wieder Touristen an", "de"),
        ("De Pekingse metro vervoert dagelijks miljoenen reizigers", "nl"),
        ("Beijing and Shanghai reported new cases on Sunday", "en"),
        ("Pekin, kış olimpiyatlarına ev sahipliği yaptı", "tr"),
    ],
)
def test_places_stay_places_under_the_new_rules(
    linker: CityLinker, text: str, language: str
) -> None:
    assert {m.kind for m in linker.link(text, language)} == {"place"}


# Issue 13, round 3 languages (hi th uk cs sv id he fa): sentences written for these tests.
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Peking fördömer de nya sanktionerna", "sv"),
        ("Enligt Peking är samtalen konstruktiva", "sv"),
        ("Pekings politik mot Taiwan skärps", "sv"),
        ("Myndigheterna i Peking stoppade importen", "sv"),
        ("Beijing Larang Ekspor Galium ke AS", "id"),  # headline root without meN-
        ("Kebijakan Beijing memicu protes di Manila", "id"),
        ("ปักกิ่งจะเพิ่มภาษีนำเข้ารถยนต์ไฟฟ้า", "th"),  # aspect word จะ before the verb
        ("บีบีซีวิเคราะห์การปราบปรามสื่อของปักกิ่ง", "th"),  # state-action noun ... ของ
        ("बीजिंग ने अमेरिकी कंपनियों पर नए प्रतिबंध लगाए", "hi"),  # ergative ने, clause verb
        ("बीजिंग के अनुसार व्यापार घाटा कम हुआ", "hi"),
        ("پکن واردات محصولات ژاپنی را ممنوع اعلام کرد", "fa"),  # SOV clause-final verb
        ("به گفته پکن، مذاکرات ادامه دارد", "fa"),
        ("בייג'ינג הזהירה את וושינגטון מפני צעדים נוספים", "he"),
        ("לפי בייג'ינג, השיחות היו פוריות", "he"),
        ("У Пекіні заявили про нові санкції", "uk"),  # impersonal plural after the locative
        ("Пекін офіційно заборонив експорт галію", "uk"),
        ("Peking ostře odsoudil návštěvu", "cs"),
        ("Pekingem prosazený zákon vstoupil v platnost", "cs"),
    ],
)
def test_government_reading_in_the_round_three_languages(
    linker: CityLinker, text: str, language: str
) -> None:
    assert [m.kind for m in linker.link(text, language) if m.city == "beijing"] == ["government"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Peking välkomnar turister från hela världen", "sv"),
        ("Peking inför vinter-OS: snökanonerna går för fullt", "sv"),  # inför = 'ahead of'
        ("Pekings invånare andas åter smog", "sv"),
        ("Beijing sambut wisatawan asing saat Tahun Baru Imlek", "id"),
        ("10 ที่เที่ยวปักกิ่งห้ามพลาด", "th"),  # ห้ามพลาด 'must not miss'
        ("बीजिंग ने 2022 में शीतकालीन ओलंपिक की मेजबानी की", "hi"),
        ("پکن میزبان المپیک زمستانی بود و آمریکا هشدار داد", "fa"),  # the verb is America's
        ("בבייג'ינג ירד שלג כבד", "he"),
        ("У Пекіні лікарі повідомили про нові випадки грипу", "uk"),
        ("Peking spolu se Šanghají hostí veletrh", "cs"),
    ],
)
def test_places_stay_places_in_the_round_three_languages(
    linker: CityLinker, text: str, language: str
) -> None:
    assert {m.kind for m in linker.link(text, language) if m.city == "beijing"} == {"place"}


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I kantonen Zürich röstade man nej", "sv"),
        ("השיאן העולמי בריצה הגיע לתחרות", "he"),  # שיאן 'record holder'
        ("הקנטון ציריך הצביע נגד", "he"),  # a Swiss canton, no Canton Fair in sight
    ],
)
def test_round_three_common_words_stay_out(linker: CityLinker, text: str, language: str) -> None:
    assert linker.link(text, language) == []


def kinds(linker: CityLinker, text: str, language: str) -> list[tuple[str, str]]:
    return [(m.city, m.kind) for m in linker.link(text, language)]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # two watched cities acting together are cities, not the state
        ("Beijing and Shanghai said they would extend metro hours", "en",
         [("beijing", "place"), ("shanghai", "place")]),
        ("Pékin et Shanghai signent un jumelage culturel", "fr",
         [("beijing", "place"), ("shanghai", "place")]),
        ("北京与上海签署旅游合作协议", "zh", [("beijing", "place"), ("shanghai", "place")]),
        # ... but a watched city with a foreign capital is the state
        ("Beijing and Washington signed a trade deal", "en", [("beijing", "government")]),
        # "in Beijing they said" names the authorities; residents who said something do not
        ("У Пекіні заявили, що санкції неприйнятні", "uk", [("beijing", "government")]),
        ("Жителі Пекіна заявили, що смог посилився", "uk", [("beijing", "place")]),
        ("У Пекіні вітають туристів", "uk", [("beijing", "place")]),
        ("תושבי בייג'ינג אמרו שהזיהום החמיר", "he", [("beijing", "place")]),
        ("בבייג'ינג אמרו תושבים שהזיהום החמיר", "he", [("beijing", "place")]),
        # a Korean place cue supports the name it follows, not the next one
        ("선양에서 열린 박람회에 베이징 기업들이 참가했다", "ko",
         [("shenyang", "place"), ("beijing", "place")]),
        ("북한 선전 매체가 베이징에서 열린 회의를 비난했다", "ko", [("beijing", "place")]),
        ("북한 선전 당국이 발표했다", "ko", []),
        # the city's own institutions and visitors: places; the state's acts: government
        ("베이징 동물원이 판다를 공개했다", "ko", [("beijing", "place")]),
        ("베이징은 미국의 제재를 강력히 비난했다", "ko", [("beijing", "government")]),
        ("دانشگاه پکن برنامه جدیدی اعلام کرد", "fa", [("beijing", "place")]),
        ("Universitas Beijing umumkan hasil riset baru", "id", [("beijing", "place")]),
        ("Beijing kecam sanksi AS", "id", [("beijing", "government")]),
        ("北京欢迎世界各地的游客", "zh", [("beijing", "place")]),
        ("北京欢迎美方的表态", "zh", [("beijing", "government")]),
        # common words: the Swiss canton opening a sentence, the Pekingese dog, a policeman
        ("Kanton Zurych wprowadził nowe podatki", "pl", []),
        ("Kanton Zürich stemt over nieuwe belastingen", "nl", []),
        ("Un chien pékinois a gagné le concours", "fr", []),
        ("Il cane pechinese ha vinto il concorso", "it", []),
        ("Le canard pékinois a conquis les tables parisiennes", "fr", []),
        ("경찰은 남경과 여경을 현장에 배치했다", "ko", []),
    ],
)
def test_review_cases_of_the_new_rules(linker: CityLinker, text: str, language: str,
                                       expected: list[tuple[str, str]]) -> None:
    assert kinds(linker, text, language) == expected


def test_news_searches_leave_out_ambiguous_forms() -> None:
    from ingest.gdelt_doc import GdeltDocConfig, build_queries
    from ingest.sources import city_query

    cities = {city.id: city for city in load_cities(CONFIG_DIR)}
    assert "상해" not in city_query(cities["shanghai"], "ko")  # also "injury"
    assert "남경" not in city_query(cities["nanjing"], "ko")
    assert "pechinese" not in city_query(cities["beijing"], "it")
    assert '"Pechino"' in city_query(cities["beijing"], "it")
    assert not any("pékinois" in q for q in build_queries(cities["beijing"], GdeltDocConfig()))


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # state-action verbs in any tense, with auxiliaries and adverbs between name and verb
        ("Beijing will formally suspend imports of Norwegian salmon", "en", "government"),
        ("Officials in Beijing said the talks would resume", "en", "government"),
        ("Beijing's export controls hit chip makers", "en", "government"),
        ("Pékin a aussitôt convoqué l'ambassadeur", "fr", "government"),
        ("Pekín impone aranceles al brandy europeo", "es", "government"),
        ("Secondo i dati diffusi da Pechino, l'export è calato", "it", "government"),
        ("A tarifa imposta por Pequim entrou em vigor", "pt", "government"),
        ("Am Dienstag hat Peking zwei Diplomaten ausgewiesen", "de", "government"),
        ("Пекин неожиданно ввёл пошлины на бренди", "ru", "government"),
        ("北京吊销两家外国媒体的许可证", "zh", "government"),
        ("北京は、新たな輸出規制を導入すると明らかにした", "ja", "government"),
        ("베이징에 따르면 새 규정은 다음 달 시행된다", "ko", "government"),
        ("فرضت بكين قيودا على صادرات المعادن", "ar", "government"),
        # an adjective form that is also a common word, after a noun of state power
        ("Le pouvoir pékinois durcit la censure", "fr", "government"),
        ("El Gobierno pekinés rechaza las críticas", "es", "government"),
        ("O regime pequinês proibiu os protestos", "pt", "government"),
        # ... or any reading the metonymy rules give (a noun of state action before it)
        ("La stretta pechinese sui videogiochi affonda Tencent", "it", "government"),
        ("La riposte pékinoise ne s'est pas fait attendre", "fr", "government"),
        # the city's own life and administration stay the city
        ("Beijing set to host the winter games again", "en", "place"),
        ("Pékin rouvre ses musées après la canicule", "fr", "place"),
        ("Пекинская мэрия утвердила план новых парков", "ru", "place"),
        # 1.9.0: a state instrument as the object (the currency, a trade-defence probe, visas,
        # the pension age), an envoy or minister in the genitive, a quoted headline statement
        ("Pékin ouvre une procédure antidumping contre le vin australien", "fr", "government"),
        ("Pekings Außenminister reist nach Berlin", "de", "government"),
        ("Pechino svaluta lo yuan per sostenere l'export", "it", "government"),
        ("Pequim amplia a isenção de vistos para europeus", "pt", "government"),
        ("Пекин повышает пенсионный возраст", "ru", "government"),
        ("北京对导弹试射表示强烈反对", "zh", "government"),
        ('베이징, "대만 문제는 내정"', "ko", "government"),
        # ... while the city's own administration, events and promises stay the city
        ("Die Pekinger Stadtverwaltung schließt die Parks", "de", "place"),
        ("Пекинский марафон отменили из-за жары", "ru", "place"),
        ("Pekín inaugura un museo y promete más parques", "es", "place"),
    ],
)
def test_government_reading_from_verb_classes_in_every_tense(
    linker: CityLinker, text: str, language: str, expected: str
) -> None:
    assert kinds(linker, text, language) == [("beijing", expected)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("천진 항구에서 컨테이너 물동량이 늘었다", [("tianjin", "place")]),
        ("남경대학 졸업식이 열렸다", [("nanjing", "place")]),
        ("선양·톈진 주민들이 한파에 떨었다", [("shenyang", "place"), ("tianjin", "place")]),
        # the same syllables as common words
        ("아이들의 천진한 웃음", []),
        ("사고로 5명이 중경상을 입었다", []),
    ],
)
def test_sino_korean_readings_count_only_with_support(
    linker: CityLinker, text: str, expected: list[tuple[str, str]]
) -> None:
    assert kinds(linker, text, "ko") == expected


@pytest.mark.parametrize(("text", "language"), [
    ("Beijing swelters through a third heatwave", "en"),
    ("Pékin suffoque sous le smog", "fr"),
    ("Peking erstickt im Smog", "de"),
    ("Pekín amanece bajo la nieve", "es"),
    ("Pechino soffoca: allerta per le polveri sottili", "it"),
    ("Пекин задыхается от смога", "ru"),
    ("北京遭遇今年最强暴雨", "zh"),
    ("北京は大雨に見舞われた", "ja"),
    ("베이징은 폭우로 지하철 운행이 중단됐다", "ko"),
])
def test_weather_happens_to_the_city_not_the_state(linker: CityLinker, text: str,
                                                   language: str) -> None:
    # a rule decides it, not the model: weather and hazards never befall a government
    mentions, undecided = linker.rule_link(text, language)
    assert [m.kind for m in mentions] == ["place"] and undecided == []


@pytest.mark.parametrize(("text", "language"), [
    ("北京は豪雨被害からの復旧に向け、特別国債を追加発行する", "ja"),
    ("北京拨款支援暴雨灾区重建", "zh"),
    ("베이징은 폭우 피해 복구에 특별예산을 투입한다", "ko"),
])
def test_relief_after_a_disaster_is_not_weather(linker: CityLinker, text: str,
                                                language: str) -> None:
    # the weather rule leaves these alone; who pays for the recovery is for the model to read
    _mentions, undecided = linker.rule_link(text, language)
    assert undecided == [0]
