"""The words of the synthetic reading screens: a fixed built-in vocabulary, random letter
strings, and near misses of the target, so that a model must read letters to tell the
items apart rather than remember which words tend to be right."""

from __future__ import annotations

import random
import string

MIN_LETTERS, MAX_LETTERS = 2, 10

# MiniWoB++'s lorem-ipsum words (ui_utils.lorem_words, commas dropped, 2-10 letters):
# the filler text of click-link, click-button and many more.
_LOREM = """
ac accumsan adipiscing aenean aliquam aliquet amet ante arcu at auctor augue bibendum
blandit commodo congue consequat convallis cras cum curabitur cursus dapibus diam dictum
dictumst dignissim dis dolor donec dui duis egestas eget eleifend elementum elit enim erat
eros est et etiam eu euismod facilisi facilisis fames faucibus felis fermentum feugiat
fringilla fusce gravida habitant habitasse hac hendrerit iaculis id imperdiet in integer
interdum ipsum justo lacinia lacus laoreet lectus leo libero ligula lobortis lorem luctus
maecenas magna magnis malesuada massa mattis mauris metus mi molestie mollis montes morbi
mus nam nascetur natoque nec neque netus nibh nisi nisl non nulla nullam nunc odio orci
ornare parturient penatibus pharetra phasellus placerat platea porta porttitor posuere
potenti praesent pretium proin pulvinar purus quam quis quisque rhoncus ridiculus risus
rutrum sagittis sapien sed sem semper senectus sit sociis sodales suscipit tellus tempor
tempus tincidunt tortor tristique turpis ultrices ultricies urna ut varius vehicula vel
velit venenatis vestibulum vitae vivamus viverra volutpat vulputate
"""
LOREM_WORDS = _LOREM.split()

# Words of buttons and forms (click-button's own first), and common English words.
_COMMON = """
submit okay ok yes no cancel next previous back close open save delete edit search login
logout send reply help home menu settings apply reset start stop done more less add remove
upload download print share copy paste undo redo view show hide select clear confirm accept
about account address answer apple area arm art baby bank bed bird black blue board boat
body book box boy bread car card case cat chair child city class clock cloud coat color
cup day desk dog door dream earth egg end eye face fact family farm field file fire fish
floor flower food foot form friend game garden girl glass gold grass green group hair hand
head heart hill horse hour house idea island job key king lake land letter life light line
lion list map mark market milk money month moon morning mother mountain music name night
note number ocean office order page paper park party pencil people phone picture place
plane plant point price queen question radio rain red river road rock room rule school
sea seat ship shoe shop side sign silver sister sky snow song sound space spring square
star station stone store story street sun table tea team test thing time tooth town train
tree truck video wall water week white wind window winter word work world year yellow zoo
"""
COMMON_WORDS = _COMMON.split()

VOCABULARY = tuple(sorted(set(LOREM_WORDS) | set(COMMON_WORDS)))
# MiniWoB++'s ui_utils.alphanumericChars: click-checkboxes labels its boxes with these.
ALPHANUMERIC = string.ascii_letters + string.digits


def styled(word: str, rng: random.Random) -> str:
    """Lowercase or capitalised, as MiniWoB++ draws its words."""
    return word.capitalize() if rng.random() < 0.4 else word


def vocabulary_word(rng: random.Random) -> str:
    return styled(rng.choice(VOCABULARY), rng)


def random_string(rng: random.Random, length: int | None = None) -> str:
    """Letters with no meaning: half the time MiniWoB++'s alphanumeric strings of 2-8
    (as click-checkboxes draws them), else 2-10 letters."""
    if rng.random() < 0.5:
        length = length or rng.randint(MIN_LETTERS, 8)
        return "".join(rng.choice(ALPHANUMERIC) for _ in range(length))
    length = length or rng.randint(MIN_LETTERS, MAX_LETTERS)
    return styled("".join(rng.choice(string.ascii_lowercase) for _ in range(length)), rng)


def any_word(rng: random.Random) -> str:
    return vocabulary_word(rng) if rng.random() < 0.5 else random_string(rng)


def near_miss(target: str, rng: random.Random) -> str:
    """A word that looks like ``target`` at a glance: the same first letters, the same
    length, or the same word with one letter changed."""
    how = rng.choice(("prefix", "length", "one letter"))
    if how == "prefix":
        keep = target[: rng.randint(1, max(1, min(3, len(target) - 1)))]
        rest = rng.randint(max(MIN_LETTERS - len(keep), 1), MAX_LETTERS - len(keep))
        return keep + "".join(rng.choice(string.ascii_lowercase) for _ in range(rest))
    if how == "length":
        return random_string(rng, len(target))
    i = rng.randrange(len(target))
    pool = string.ascii_uppercase if target[i].isupper() else string.ascii_lowercase
    return target[:i] + rng.choice(pool.replace(target[i], "")) + target[i + 1 :]


def screen_words(rng: random.Random, count: int) -> list[str]:
    """``count`` words that differ from each other even in case; the first is the target.
    Half the screens hold one to three near misses of it."""
    words = [any_word(rng)]
    near = rng.randint(1, 3) if rng.random() < 0.5 else 0
    seen = {words[0].lower()}
    while len(words) < count:
        word = near_miss(words[0], rng) if len(words) <= near else any_word(rng)
        if MIN_LETTERS <= len(word) <= MAX_LETTERS and word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return words
