"""mlxtend's apriori and association_rules on baskets, against shoplens's rules.

Usage: pairs_mlxtend.py BASKETS RULES_JSON MIN_SUPPORT
BASKETS: one order a line, its items separated by tabs. RULES_JSON: shoplens's rules (the
`rules` of /api/products/pairs, all of them). Exits non-zero, naming the first difference, unless
the rules of the frequent pairs are the same set with every measure equal (to 1e-9 relative).
"""

import inspect
import json
import math
import sys

import pandas as pd
from mlxtend.frequent_patterns import apriori, association_rules
from mlxtend.preprocessing import TransactionEncoder

baskets_path, rules_path, min_support = sys.argv[1], sys.argv[2], float(sys.argv[3])
baskets = [line.rstrip("\n").split("\t") for line in open(baskets_path, encoding="utf-8") if line.strip()]
te = TransactionEncoder()
onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
frequent = apriori(onehot, min_support=min_support, use_colnames=True, max_len=2)
kwargs = {"metric": "support", "min_threshold": min_support}
if "num_itemsets" in inspect.signature(association_rules).parameters:
    kwargs["num_itemsets"] = len(onehot)
rules = association_rules(frequent, **kwargs)
theirs = {}
for _, r in rules.iterrows():
    (a,), (c,) = tuple(r["antecedents"]), tuple(r["consequents"])
    theirs[(a, c)] = r

ours = {(r["antecedent"], r["consequent"]): r for r in json.load(open(rules_path, encoding="utf-8"))}
if set(ours) != set(theirs):
    print("only shoplens:", sorted(set(ours) - set(theirs))[:5])
    print("only mlxtend:", sorted(set(theirs) - set(ours))[:5])
    sys.exit(1)


def same(x, y):
    if x is None or (isinstance(y, float) and math.isinf(y)):
        return x is None and math.isinf(y)
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-15)


for key, o in ours.items():
    t = theirs[key]
    for ours_name, their_name in [
        ("support", "support"),
        ("antecedent_support", "antecedent support"),
        ("consequent_support", "consequent support"),
        ("confidence", "confidence"),
        ("lift", "lift"),
        ("leverage", "leverage"),
        ("conviction", "conviction"),
    ]:
        if not same(o[ours_name], float(t[their_name])):
            print(f"{key} {ours_name}: shoplens {o[ours_name]}, mlxtend {t[their_name]}")
            sys.exit(1)
print(f"{len(ours)} rules equal")
