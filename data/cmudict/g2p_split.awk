# Shared by fetch.sh and prepare_standard.sh: word normalisation, pronunciation cleaning, the
# deterministic word hash that decides the splits, and writing the split files.
#
# Input lines: WORD<TAB>PRON1[<TAB>PRON2...]; a word may repeat on several lines. A trailing
# "(N)" on WORD (npm's mark for the N-th alternative) is removed, as is a "# comment" in a PRON.
# Variables (awk -v):
#   out       output directory
#   mode      "three_way": hash bucket 0 -> dev, 1 -> test, others -> train   (fetch.sh)
#             "carve_dev": hash bucket 0 -> dev, others -> train              (prepare_standard.sh)
#             "test":      every word -> test                                  (prepare_standard.sh)
# Words are lowercased; words with any character other than a-z and the apostrophe are dropped
# (and counted); stress digits are removed from the phonemes; duplicate pronunciations of a word
# (after stress removal) are merged, keeping the first occurrence order.
# Outputs, in order of first appearance of each word:
#   SPLIT.tsv  train: one line per (word, pronunciation); dev/test: one line per word with its
#              first pronunciation. The word is written as space-separated letters.
#   SPLIT.ref  dev/test only: line i holds every pronunciation of the word on line i of
#              SPLIT.tsv, TAB-separated.

BEGIN {
  FS = "\t"
  for (i = 32; i < 127; ++i) ord[sprintf("%c", i)] = i
  n_phones = split("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH", phones, " ")
  for (i = 1; i <= n_phones; ++i) valid_phone[phones[i]] = 1
  n_words = 0
  dropped_words = 0
}

# Polynomial string hash modulo the prime 2^31 - 1 (exact in double precision), so every awk
# computes the same value.
function word_hash(w,    h, i) {
  h = 0
  for (i = 1; i <= length(w); ++i) h = (h * 131 + ord[substr(w, i, 1)]) % 2147483647
  return h
}

function spell(w,    s, i) {
  s = substr(w, 1, 1)
  for (i = 2; i <= length(w); ++i) s = s " " substr(w, i, 1)
  return s
}

# Stress-free, single-spaced pronunciation; exits with an error on an unknown phoneme.
function clean_pron(p,    parts, n, i, ph, s) {
  sub(/#.*/, "", p)
  n = split(p, parts, " ")
  s = ""
  for (i = 1; i <= n; ++i) {
    ph = parts[i]
    gsub(/[012]/, "", ph)
    if (!(ph in valid_phone)) {
      printf("g2p_split.awk: line %d: unknown phoneme '%s'\n", NR, parts[i]) > "/dev/stderr"
      exit 2
    }
    s = (s == "" ? ph : s " " ph)
  }
  return s
}

function split_of(w,    bucket) {
  if (mode == "test") return "test"
  bucket = word_hash(w) % 20
  if (bucket == 0) return "dev"
  if (bucket == 1 && mode == "three_way") return "test"
  return "train"
}

{
  word = tolower($1)
  sub(/\([0-9]+\)$/, "", word)  # npm keys mark alternatives as "word(2)"
  if (word !~ /^[a-z']+$/) {
    if (!(word in seen_dropped)) { seen_dropped[word] = 1; ++dropped_words }
    next
  }
  for (f = 2; f <= NF; ++f) {
    pron = clean_pron($f)
    if (pron == "") continue
    if (!(word in n_prons)) { order[++n_words] = word; n_prons[word] = 0 }
    if ((word SUBSEP pron) in has_pron) continue
    has_pron[word, pron] = 1
    prons[word, ++n_prons[word]] = pron
  }
}

END {
  for (k = 1; k <= n_words; ++k) {
    w = order[k]
    s = split_of(w)
    tsv = out "/" s ".tsv"
    ++words_in[s]
    if (s == "train") {
      for (j = 1; j <= n_prons[w]; ++j) { print spell(w) "\t" prons[w, j] > tsv; ++lines_in[s] }
    } else {
      print spell(w) "\t" prons[w, 1] > tsv
      ++lines_in[s]
      line = prons[w, 1]
      for (j = 2; j <= n_prons[w]; ++j) line = line "\t" prons[w, j]
      print line > (out "/" s ".ref")
      refs_in[s] += n_prons[w]
    }
  }
  if (dropped_words > 0) printf("dropped %d words with characters other than a-z and '\n", dropped_words)
  split("train dev test", names, " ")
  for (k = 1; k <= 3; ++k) {
    s = names[k]
    if (!(s in words_in)) continue
    if (s == "train") printf("%-5s %6d words %7d lines (one per pronunciation)\n", s, words_in[s], lines_in[s])
    else printf("%-5s %6d words %7d references\n", s, words_in[s], refs_in[s])
  }
}
