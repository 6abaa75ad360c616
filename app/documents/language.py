"""A small language guesser: counts frequent function words of seven languages."""

from collections import Counter

# Frequent function words per language. Fragments such as "don" and "isn" are what the
# tokenizer leaves of English contractions; "qu" and "l" of French elisions.
_FUNCTION_WORDS = {
    "en": """a about above after again against all also am an and any are aren as at be because
        been before being below between both but by can could couldn did didn do does doesn
        doing don down during each few for from further had hadn has hasn have haven having he
        her here hers herself him himself his how i if in into is isn it its itself just ll may
        me might more most must my myself no nor not now of off on once only or other our ours
        out over own re same shall she should shouldn so some such than that the their theirs
        them themselves then there these they this those through to too under until up us ve
        very was wasn we were weren what when where which while who whom why will with won
        would wouldn you your yours""",
    "de": """aber alle allem allen aller alles als also am an andere anderen auch auf aus bei bin
        bis bist da damit dann das dass dein deine dem den denn der des dich die dies diese
        diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er
        es etwas euch euer für gegen gewesen habe haben hat hatte hier ich ihm ihn ihnen ihr
        ihre im in ins ist jede jedem jeden jeder jetzt kann kein keine können man mein meine
        mich mir mit muss nach nicht nichts noch nun nur ob oder ohne sehr sein seine sich sie
        sind soll sondern über um und uns unser unter viel vom von vor war waren warum was
        weil welche wenn wer werden wie wieder will wir wird wo wurde würde zu zum zur zwischen""",
    "fr": """à afin ai alors au aucun aussi autre aux avait avec avoir c ce ceci cela celle celui
        ces cet cette chaque comme d dans de des donc dont du elle elles en encore est et été
        être eu fait il ils j je l la le les leur leurs lui m ma mais me même mes moi mon n ne
        ni nos notre nous on ont ou où par pas peu plus pour pourquoi qu quand que quel quelle
        qui s sa sans se sera ses si son sont sous sur t ta te tes toi ton tous tout toute
        toutes très tu un une vos votre vous y ça était""",
    "es": """al algo algunos ante antes como con contra cual cuando de del desde donde durante el
        ella ellas ellos en entre era es esa ese eso esta está están este esto estos fue fueron
        ha han hasta hay la las le les lo los más me mi mientras muy nada ni no nos nosotros
        otra otro para pero poco por porque que quien se sea ser si sí sin sobre son su sus
        también tan te tiene todo todos tu tú un una uno unos y ya yo él""",
    "it": """ad al alla alle allo anche ancora che chi ci come con cui da dal dalla dei del della
        delle dello di dove e è ed era erano essere fa gli ha hanno ho i il in io la le lei lo
        loro lui ma mi mia mio molto ne negli nei nel nella noi non nostro o per perché più poi
        quale quando quella quello questa questo se si sia sono su sua sue sul sulla suo tra tu
        tutti tutto un una uno vi voi""",
    "nl": """aan al alles als altijd ben bij daar dan dat de deze die dit doch doen door dus een
        en er geen geweest haar had heb hebben heeft hem het hier hij hoe hun ik in is ja je kan
        kon maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat onder ons
        ook op over te tegen toch toen tot u uit uw van veel voor want waren was wat we wel werd
        wie wij wil worden zal ze zei zelf zich zij zijn zo zonder zou""",
    "pt": """ao aos aquela aquele as à até com como da das de dela dele deles depois do dos e é ela
        elas ele eles em entre era essa esse esta está este eu foi foram há isso isto já lhe
        mais mas me mesmo meu minha muito na nas nem no nos nós não num numa o os ou para pela
        pelas pelo pelos por porque quando que quem se sem ser seu seus só sua suas também te
        tem tu um uma você""",
}
STOP_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split()) for language, words in _FUNCTION_WORDS.items()
}
STOP_WORDS["unknown"] = frozenset().union(*STOP_WORDS.values())
_LANGUAGES_BY_WORD: dict[str, list[str]] = {}
for _language, _words in STOP_WORDS.items():
    if _language != "unknown":
        for _word in _words:
            _LANGUAGES_BY_WORD.setdefault(_word, []).append(_language)
# Below this many function-word hits a guess is noise; the winner must lead by this factor.
_MIN_LANGUAGE_HITS = 5
_LANGUAGE_LEAD = 1.5


def guess_language(tokens: list[str]) -> str:
    """ISO 639-1 code of the language whose function words dominate, else "unknown"."""
    hits: Counter[str] = Counter()
    for token in tokens:
        hits.update(_LANGUAGES_BY_WORD.get(token, ()))
    ranked = hits.most_common(2)
    if not ranked or ranked[0][1] < _MIN_LANGUAGE_HITS:
        return "unknown"
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return ranked[0][0] if ranked[0][1] >= runner_up * _LANGUAGE_LEAD else "unknown"
