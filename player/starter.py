"""Starter scripts for `guided new`: short, commented, and playable as they are."""

from __future__ import annotations

SOLO_YAML = """\
# A guided session for one listener. Play it with: guided play {file}
# The format: docs/script-format.md. Check it with: guided validate {file}
title: {title}
summary: A short reflection, written with 'guided new'.
mode: solo
tags: [starter]
steps:
  - section: Arriving
  # [2s] is a breath: two seconds of silence inside the spoken text.
  - say: Welcome. [2s] Find a comfortable way to sit, and let your eyes close if you like.
  - say: This is a moment of practice. It is not therapy, and not a substitute for a licensed professional.
  - section: Reflecting
  # A reflection: the prompt is spoken, then a bell, the silence, and a bell.
  - reflect: 30s
    prompt: For the next thirty seconds, think of someone you feel close to. Notice what that closeness is like.
  - section: Closing
  - say: Take one slow breath. [3s] When you are ready, open your eyes.
  - bell: end
"""

COUPLE_YAML = """\
# A guided session for two partners. Play it with:
#   guided play {file} --partner-a Sam --partner-b Alex
# The format: docs/script-format.md. Check it with: guided validate {file}
title: {title}
summary: A short exercise for two, written with 'guided new'.
mode: couple
tags: [starter, couple]
steps:
  - section: Arriving
  - say: Welcome, {{a}} and {{b}}. [2s] Sit so that you can see each other.
  - say: "The ground rules: one of you speaks while the other listens, without fixing or defending. [2s] Either of you can pause, pass, or stop at any time, without giving a reason. [2s] This is practice, not therapy, and not a substitute for a licensed professional."
  - section: Taking Turns
  # turns plays its steps once for each partner, swapping who speaks and who listens.
  # alternate: each turns block lets the other partner begin; announce: the player says whose turn it is.
  - turns: alternate
    announce: true
    steps:
      - talk: 1m
        prompt: "For the next minute, tell {{listener}} about one moment this week when you felt close."
      # respond: the listener's short answer.
      - respond: 20s
        prompt: "{{listener}}, in about twenty seconds, tell {{speaker}} what you heard."
  - section: Closing
  - say: Thank you both. [2s] Take a breath together.
  - bell: end
"""

SOLO_MARKDOWN = """\
---
title: {title}
summary: A short reflection, written with 'guided new --markdown'.
---

# Arriving

Welcome. [2s] Find a comfortable way to sit, and let your eyes close if you like.

This is a moment of practice. It is not therapy, and not a substitute for a licensed professional.

(speak slowly: this line is a stage direction, shown by 'guided show' but never spoken)

# Reflecting

For the next thirty seconds, think of someone you feel close to.

(30 seconds of silence)

[bell]

# Closing

Take one slow breath. (pause 3 seconds) When you are ready, open your eyes.

[bell: end]
"""

COUPLE_MARKDOWN = """\
---
title: {title}
summary: A short exercise for two, written with 'guided new --couple --markdown'.
mode: couple
---

# Arriving

Welcome, {{a}} and {{b}}. [2s] Sit so that you can see each other.

One of you speaks while the other listens, without fixing or defending. Either of you can pause, pass, or stop at any time, without giving a reason. This is practice, not therapy, and not a substitute for a licensed professional.

# Taking Turns

{{a}}, for the next minute, tell {{b}} about one moment this week when you felt close.

[talk 1m]

{{b}}, now it is your turn. For the next minute, tell {{a}} about one moment this week when you felt close.

[talk 1m]

# Closing

Thank you both. [2s] Take a breath together.

[bell: end]
"""


def starter(title: str, couple: bool, markdown: bool, file_name: str) -> str:
    """The text of a starter script."""
    template = {(False, False): SOLO_YAML, (True, False): COUPLE_YAML,
                (False, True): SOLO_MARKDOWN, (True, True): COUPLE_MARKDOWN}[(couple, markdown)]
    return template.format(title=title, file=file_name)
