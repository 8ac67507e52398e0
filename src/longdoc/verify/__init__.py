"""Check in code what a small model claims: that an answer's names and numbers
are in the text it was read from, which sentence of that text says it, and how
exactly a sentence names what the question asks about.

Small models fail at reading more than at finding: they take a value from a
look-alike sentence, invent a name for a question the text does not answer,
or copy the question back. Every check here is string work on text already in
memory, far cheaper than one more model call.

`names.py`: the names an answer must have copied, and look-alike spellings;
`places.py`: kinds of place, the links of a chain, places named by a clause;
`support.py`: whether a text backs an answer, and whether it is of the kind asked.
"""
