"""Language detection: scripts name their language, Latin text is decided by common words."""

# ruff: noqa: RUF001  (the samples are written in their own scripts, on purpose)

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelrouter.features import language
from modelrouter.features.language import SAMPLE_CHARS, detect_language

SAMPLES = {
    "en": "Could you please explain how the new billing plan works and what I have to do to switch to it?",
    "de": "Können Sie mir bitte erklären, wie der neue Tarif funktioniert und was ich dafür tun muss?",
    "fr": "Pouvez-vous m'expliquer comment fonctionne le nouveau forfait et ce que je dois faire ?",
    "es": "¿Puede explicarme cómo funciona el nuevo plan de facturación y qué tengo que hacer para cambiar?",
    "it": "Potete spiegarmi come funziona il nuovo piano tariffario e che cosa devo fare per cambiare?",
    "pt": "Você pode me explicar como funciona o novo plano e o que eu preciso fazer para mudar para ele?",
    "nl": "Kunt u mij uitleggen hoe het nieuwe abonnement werkt en wat ik moet doen om over te stappen?",
    "ru": "Не могли бы вы объяснить, как работает новый тарифный план и что мне нужно сделать для перехода?",
    "uk": "Чи не могли б ви пояснити, як працює новий тарифний план і що мені потрібно зробити для переходу?",
    "el": "Μπορείτε να μου εξηγήσετε πώς λειτουργεί το νέο πρόγραμμα χρέωσης και τι πρέπει να κάνω;",
    "ar": "هل يمكنك أن تشرح لي كيف تعمل خطة الفواتير الجديدة وما الذي يجب علي فعله للانتقال إليها؟",
    "he": "האם תוכל להסביר לי איך עובדת תוכנית החיוב החדשה ומה עליי לעשות כדי לעבור אליה?",
    "hi": "क्या आप मुझे समझा सकते हैं कि नई बिलिंग योजना कैसे काम करती है और मुझे क्या करना होगा?",
    "th": "คุณช่วยอธิบายได้ไหมว่าแผนการเรียกเก็บเงินใหม่ทำงานอย่างไรและฉันต้องทำอะไรบ้าง",
    "ko": "새로운 요금제가 어떻게 작동하는지, 그리고 변경하려면 무엇을 해야 하는지 설명해 주시겠어요?",
    "ja": "新しい料金プランの仕組みと、変更するために何をすればよいかを説明していただけますか？",
    "zh": "你能解释一下新的计费方案是如何运作的，以及我需要做什么才能切换吗？",
}


@pytest.mark.parametrize(("code", "text"), SAMPLES.items(), ids=SAMPLES.keys())
def test_detects_the_language_of_a_sentence(code: str, text: str) -> None:
    # Given a one-sentence request in a known language
    # When detected
    guess = detect_language(text)

    # Then the language is named, with some confidence and a reason
    assert guess.code == code
    assert guess.confidence >= 0.3
    assert guess.evidence


@pytest.mark.parametrize("text", ["", "ok", "?!", "12345 678", "hi", "   \n "])
def test_too_little_text_is_undetermined(text: str) -> None:
    # Given (almost) no letters / When detected / Then the language is undetermined, with low confidence
    guess = detect_language(text)
    assert guess.code == "und"
    assert guess.confidence <= 0.1


def test_latin_text_without_common_words_is_undetermined() -> None:
    # Given Latin letters that are no words of any known language
    guess = detect_language("Xyzzy plugh frobozz quux")

    # When detected / Then it is undetermined, but the script is known
    assert (guess.code, guess.script) == ("und", "latin")


def test_latin_evidence_counts_stop_words() -> None:
    # Given English text / When detected / Then the evidence names English stop words
    guess = detect_language(SAMPLES["en"])
    assert "English stop words" in guess.evidence
    assert guess.script == "latin"


def test_japanese_needs_kana_otherwise_han_is_chinese() -> None:
    # Given Japanese (han and kana) and Chinese (han only)
    # When detected / Then kana make it Japanese
    assert detect_language(SAMPLES["ja"]).code == "ja"
    assert detect_language(SAMPLES["zh"]).code == "zh"
    assert "Kana" in detect_language(SAMPLES["ja"]).evidence


def test_dominant_script_wins_over_embedded_english() -> None:
    # Given Russian text that mentions a few English product names
    text = "Объясните, пожалуйста, разницу между Amazon Bedrock и OpenAI API для нашего проекта по поддержке."

    # When detected / Then it is Russian
    assert detect_language(text).code == "ru"


def test_longer_text_is_more_confident() -> None:
    # Given a short and a long English text
    short = detect_language("Where is the invoice?")
    long = detect_language(SAMPLES["en"] * 5)

    # When detected / Then both are English, the longer one more confidently
    assert short.code == long.code == "en"
    assert long.confidence > short.confidence


def test_huge_text_is_cut_to_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 400 KB of German, and the text the script count reads recorded
    text = SAMPLES["de"] * 4000
    read: list[int] = []
    count_scripts = language._dominant_script

    def recorded(sample: str) -> Any:
        read.append(len(sample))
        return count_scripts(sample)

    monkeypatch.setattr(language, "_dominant_script", recorded)

    # When detected
    guess = detect_language(text)

    # Then it is German, and only a sample was read
    assert guess.code == "de"
    assert read == [SAMPLE_CHARS]


@given(st.text())
def test_any_text_gives_a_valid_guess(text: str) -> None:
    # Given any text / When detected / Then a well-formed guess comes back
    guess = detect_language(text)
    assert 0 <= guess.confidence <= 1
    assert guess.code
    assert guess.script
    assert guess.evidence
