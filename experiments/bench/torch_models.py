"""The issue-6 benchmark models in PyTorch, mirroring the s2s models equation for equation.

  RnnSeq2Seq          lib/s2s/models/rnn_seq2seq.hpp: bi-GRU/LSTM encoder (H/2 per direction), tanh
                      bridge, GRU/LSTM decoder cell, Bahdanau or Luong-general attention (input
                      feeding), output layer; dropout on the output vectors o_t only
  TransformerSeq2Seq  lib/s2s/models/transformer_seq2seq.hpp: pre-norm nn.TransformerEncoderLayer /
                      DecoderLayer, sqrt(D)-scaled embeddings + interleaved sinusoids, final
                      LayerNorms, attention dropout separate from the residual dropout

Every model has exactly the parameters of its s2s twin (same count; shapes equal up to the
transposes load_s2s_parameters applies: embeddings are (D x V) in s2s, (V x D) here; s2s's
q/k/v projections are the row blocks of in_proj_weight), so the weights bench_train exports load
here and both sides must compute the same loss.

Conventions as s2s: batches are time-major, src (S, B) and tgt (T, B) int64, PAD = 0, and the
loss is the token-mean cross-entropy with PAD ignored. The decoding interface mirrors
Seq2SeqModel: state = encode(src, lengths); log_probs = decode_step(state, prev) (N x V);
reorder(state, rows, sources_changed). greedy_search and beam_search are the algorithms of
lib/s2s/decoding/decoding.hpp, batched over the sources.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3

MODEL_NAMES = ("gru-bahdanau", "lstm-luong", "transformer")


def linear_init_(tensor, fan_in):
    bound = 1.0 / math.sqrt(fan_in)
    nn.init.uniform_(tensor, -bound, bound)


# ------------------------------------------------------------------------------------------------
# RNN encoder-decoder


class BahdanauAttention(nn.Module):
    """e_j = v^T tanh(W_s s + W_h h_j + b_h); a = softmax over real positions; c = sum_j a_j h_j."""

    def __init__(self, query_size, memory_size, hidden_size):
        super().__init__()
        self.W_s = nn.Linear(query_size, hidden_size, bias=False)
        self.W_h = nn.Linear(memory_size, hidden_size)
        self.v = nn.Parameter(torch.empty(hidden_size))
        linear_init_(self.v, hidden_size)

    def keys(self, memory):  # (B, S, H) -> (B, S, A)
        return self.W_h(memory)

    def forward(self, query, keys, memory, mask):  # query (B, Q), mask (B, S) True = real
        hidden = torch.tanh(self.W_s(query).unsqueeze(1) + keys)  # (B, S, A)
        scores = (hidden @ self.v).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=1)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class LuongGeneralAttention(nn.Module):
    """e_j = s^T W_a h_j (keys W_a h_j precomputed); a, c as Bahdanau."""

    def __init__(self, query_size, memory_size):
        super().__init__()
        self.W_a = nn.Linear(memory_size, query_size, bias=False)

    def keys(self, memory):  # (B, S, H) -> (B, S, Q)
        return self.W_a(memory)

    def forward(self, query, keys, memory, mask):
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class RnnSeq2Seq(nn.Module):
    def __init__(self, cell, attention, src_vocab, tgt_vocab, embed=128, hidden=256, dropout=0.2):
        super().__init__()
        self.lstm = cell == "lstm"
        self.bahdanau = attention == "bahdanau"
        E, H = embed, hidden
        rnn = nn.LSTM if self.lstm else nn.GRU
        rnn_cell = nn.LSTMCell if self.lstm else nn.GRUCell
        self.encoder = nn.ModuleDict({
            "embedding": nn.Embedding(src_vocab, E, padding_idx=PAD),
            "rnn": rnn(E, H // 2, bidirectional=True),
        })
        self.bridge = nn.Linear(H, H)
        decoder = {
            "embedding": nn.Embedding(tgt_vocab, E, padding_idx=PAD),
            "rnn": rnn_cell(E + H, H),  # [e_t; c_t] (Bahdanau) or [e_t; o_{t-1}] (input feeding)
        }
        if self.bahdanau:
            decoder["attention"] = BahdanauAttention(H, H, H)
            decoder["output_proj"] = nn.Linear(2 * H + E, H)
        else:
            decoder["attention"] = LuongGeneralAttention(H, H)
            decoder["attention_combine"] = nn.Linear(2 * H, H, bias=False)
        decoder["output"] = nn.Linear(H, tgt_vocab)
        self.decoder = nn.ModuleDict(decoder)
        self.dropout = nn.Dropout(dropout)
        self.hidden = H

    def encode(self, src, lengths):
        """src (S, B), lengths (B) -> state dict; the memory is batch-major (B, S, H)."""
        S = src.shape[0]
        x = self.encoder["embedding"](src)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        out, final = self.encoder["rnn"](packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=S)
        h_n = final[0] if self.lstm else final  # (2, B, H/2)
        s0 = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], dim=1)))
        memory = memory.transpose(0, 1).contiguous()
        state = {
            "memory": memory,
            "keys": self.decoder["attention"].keys(memory),
            "mask": torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1),
            "h": s0,
            "feed": torch.zeros_like(s0),
        }
        if self.lstm:
            state["c"] = torch.zeros_like(s0)
        return state

    def _step(self, e, state):
        """One decoder step from e (N, E); updates h (and c, feed) in state; returns o_t (N, H)."""
        d = self.decoder
        attend = lambda s: d["attention"](s, state["keys"], state["memory"], state["mask"])
        prev = (state["h"], state["c"]) if self.lstm else state["h"]
        if self.bahdanau:
            context, _ = attend(state["h"])
            new = d["rnn"](torch.cat([e, context], dim=1), prev)
            h = new[0] if self.lstm else new
            o = torch.tanh(d["output_proj"](torch.cat([h, context, e], dim=1)))
        else:
            new = d["rnn"](torch.cat([e, state["feed"]], dim=1), prev)
            h = new[0] if self.lstm else new
            context, _ = attend(h)
            o = torch.tanh(d["attention_combine"](torch.cat([context, h], dim=1)))
        state["h"] = h
        if self.lstm:
            state["c"] = new[1]
        state["feed"] = o
        return o

    def loss(self, src, lengths, tgt_in, tgt_out):
        state = self.encode(src, lengths)
        embedded = self.decoder["embedding"](tgt_in)  # (T, B, E)
        outputs = torch.stack([self._step(embedded[t], state) for t in range(tgt_in.shape[0])])
        logits = self.decoder["output"](self.dropout(outputs))  # (T, B, V)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt_out.view(-1),
                               ignore_index=PAD)

    def decode_step(self, state, prev):
        o = self._step(self.decoder["embedding"](prev), state)
        return torch.log_softmax(self.decoder["output"](o), dim=1)

    def reorder(self, state, rows, sources_changed):
        names = ["h", "feed"] + (["c"] if self.lstm else [])
        if sources_changed:
            names += ["memory", "keys", "mask"]
        for name in names:
            state[name] = state[name].index_select(0, rows)

    def s2s_name(self, name):
        """The s2s layout name of one of our parameters (see lib/s2s/models/rnn_seq2seq.hpp)."""
        if name.startswith("encoder.rnn."):
            base, _, rest = name[len("encoder.rnn."):].partition("_l0")
            return "encoder.rnn.layer0." + ("bwd." if rest == "_reverse" else "fwd.") + base
        if name.startswith("decoder.rnn."):
            return "decoder.rnn.layer0." + name[len("decoder.rnn."):]
        return name


# ------------------------------------------------------------------------------------------------
# Transformer


def sinusoids(positions, dim):
    """P[p, 2i] = sin(p w_i), P[p, 2i+1] = cos(p w_i), w_i = exp(-2i ln(10000) / D): (P, D)."""
    table = np.zeros((positions, dim))
    p = np.arange(positions)[:, None]
    w = np.exp(-2.0 * np.arange((dim + 1) // 2) * math.log(10000.0) / dim)[None, :]
    table[:, 0::2] = np.sin(p * w)
    table[:, 1::2] = np.cos(p * w)[:, : dim // 2]
    return torch.tensor(table, dtype=torch.float32)


class TransformerSeq2Seq(nn.Module):
    MAX_POSITIONS = 1024

    def __init__(self, src_vocab, tgt_vocab, d_model=256, heads=4, ff=1024, layers=3,
                 dropout=0.2, attention_dropout=0.1):
        super().__init__()
        D = d_model

        def with_attention_dropout(layer):
            for name in ("self_attn", "multihead_attn"):
                if hasattr(layer, name):
                    getattr(layer, name).dropout = attention_dropout
            return layer

        self.encoder = nn.ModuleDict({
            "embedding": nn.Embedding(src_vocab, D, padding_idx=PAD),
            "layers": nn.ModuleList(with_attention_dropout(nn.TransformerEncoderLayer(
                D, heads, ff, dropout, norm_first=True, batch_first=True)) for _ in range(layers)),
            "norm": nn.LayerNorm(D),
        })
        self.decoder = nn.ModuleDict({
            "embedding": nn.Embedding(tgt_vocab, D, padding_idx=PAD),
            "layers": nn.ModuleList(with_attention_dropout(nn.TransformerDecoderLayer(
                D, heads, ff, dropout, norm_first=True, batch_first=True)) for _ in range(layers)),
            "norm": nn.LayerNorm(D),
            "output": nn.Linear(D, tgt_vocab),
        })
        for emb in (self.encoder["embedding"], self.decoder["embedding"]):
            nn.init.normal_(emb.weight, 0.0, D ** -0.5)
            with torch.no_grad():
                emb.weight[PAD].zero_()
        self.register_buffer("positions", sinusoids(self.MAX_POSITIONS, D), persistent=False)
        self.scale = math.sqrt(D)
        self.heads = heads
        self.d_model = D

    def _embed(self, embedding, ids, offset=0):  # ids (B, L) -> (B, L, D)
        return embedding(ids) * self.scale + self.positions[offset:offset + ids.shape[1]]

    def _encode(self, src, lengths):
        S = src.shape[0]
        pad = torch.arange(S).unsqueeze(0) >= lengths.unsqueeze(1)  # (B, S) True = padding
        x = self._embed(self.encoder["embedding"], src.t())
        for layer in self.encoder["layers"]:
            x = layer(x, src_key_padding_mask=pad)
        return self.encoder["norm"](x), pad

    def loss(self, src, lengths, tgt_in, tgt_out):
        memory, pad = self._encode(src, lengths)
        T = tgt_in.shape[0]
        causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        z = self._embed(self.decoder["embedding"], tgt_in.t())
        for layer in self.decoder["layers"]:
            z = layer(z, memory, tgt_mask=causal, memory_key_padding_mask=pad)
        logits = self.decoder["output"](self.decoder["norm"](z))  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.t().reshape(-1),
                               ignore_index=PAD)

    # Incremental decoding: per decoder layer the self-attention keys/values of past positions
    # (N, heads, t, d_h) and the cross-attention keys/values of the memory (N, heads, S, d_h).
    def _heads(self, x):  # (N, L, D) -> (N, h, L, d_h)
        N, L, _ = x.shape
        return x.view(N, L, self.heads, -1).transpose(1, 2)

    def encode(self, src, lengths):
        memory, pad = self._encode(src, lengths)
        D = self.d_model
        cross = []
        for layer in self.decoder["layers"]:
            attn = layer.multihead_attn
            k = F.linear(memory, attn.in_proj_weight[D:2 * D], attn.in_proj_bias[D:2 * D])
            v = F.linear(memory, attn.in_proj_weight[2 * D:], attn.in_proj_bias[2 * D:])
            cross.append((self._heads(k), self._heads(v)))
        N = src.shape[1]
        empty = torch.zeros(N, self.heads, 0, D // self.heads)
        return {"pad": pad[:, None, None, :], "cross": cross, "t": 0,
                "self": [(empty, empty) for _ in cross]}

    def _attend(self, q, k, v, mask=None):  # q (N, h, 1, d_h) -> (N, D)
        scores = q @ k.transpose(2, 3) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        context = torch.softmax(scores, dim=-1) @ v  # (N, h, 1, d_h)
        return context.transpose(1, 2).reshape(q.shape[0], -1)

    def decode_step(self, state, prev):
        D, t = self.d_model, state["t"]
        x = self._embed(self.decoder["embedding"], prev.unsqueeze(1), t)[:, 0]  # (N, D)
        for l, layer in enumerate(self.decoder["layers"]):
            sa = layer.self_attn
            q, k, v = F.linear(layer.norm1(x), sa.in_proj_weight, sa.in_proj_bias).chunk(3, dim=1)
            past_k, past_v = state["self"][l]
            keys = torch.cat([past_k, self._heads(k.unsqueeze(1))], dim=2)
            values = torch.cat([past_v, self._heads(v.unsqueeze(1))], dim=2)
            state["self"][l] = (keys, values)
            x = x + sa.out_proj(self._attend(self._heads(q.unsqueeze(1)), keys, values))
            ca = layer.multihead_attn
            q = F.linear(layer.norm2(x), ca.in_proj_weight[:D], ca.in_proj_bias[:D])
            ck, cv = state["cross"][l]
            x = x + ca.out_proj(self._attend(self._heads(q.unsqueeze(1)), ck, cv, state["pad"]))
            x = x + layer.linear2(F.relu(layer.linear1(layer.norm3(x))))
        state["t"] = t + 1
        return torch.log_softmax(self.decoder["output"](self.decoder["norm"](x)), dim=1)

    def reorder(self, state, rows, sources_changed):
        state["self"] = [(k.index_select(0, rows), v.index_select(0, rows))
                         for k, v in state["self"]]
        if sources_changed:
            state["cross"] = [(k.index_select(0, rows), v.index_select(0, rows))
                              for k, v in state["cross"]]
            state["pad"] = state["pad"].index_select(0, rows)

    def s2s_name(self, name):
        """s2s layout name (lib/s2s/models/transformer_seq2seq.hpp) of one of our parameters;
        in_proj maps to the q_proj prefix (load_s2s_parameters fills its three row blocks)."""
        for side in ("encoder", "decoder"):
            prefix = side + ".layers."
            if name.startswith(prefix):
                index, _, rest = name[len(prefix):].partition(".")
                rest = rest.replace("multihead_attn.", "cross_attn.")
                rest = rest.replace("in_proj_weight", "q_proj.weight")
                rest = rest.replace("in_proj_bias", "q_proj.bias")
                return f"{side}.layer{index}.{rest}"
        return name


def make_model(name, src_vocab, tgt_vocab):
    if name == "gru-bahdanau":
        return RnnSeq2Seq("gru", "bahdanau", src_vocab, tgt_vocab)
    if name == "lstm-luong":
        return RnnSeq2Seq("lstm", "luong-general", src_vocab, tgt_vocab)
    if name == "transformer":
        return TransformerSeq2Seq(src_vocab, tgt_vocab)
    raise ValueError(f"Unknown model: {name}. Valid options: {', '.join(MODEL_NAMES)}")


def load_s2s_parameters(model, entries, flat):
    """Copies s2s's flat parameter buffer into model. entries: {name: (rows, cols, offset)}, each
    column-major (rows x cols). Raises ValueError naming the first missing or mis-shaped one;
    every s2s parameter must be used exactly once."""
    def block(name):
        if name not in entries:
            raise ValueError(f"s2s has no parameter {name}")
        rows, cols, offset = entries[name]
        used.add(name)
        return flat[offset:offset + rows * cols].reshape(cols, rows).T  # (rows, cols)

    used = set()
    with torch.no_grad():
        for name, param in model.named_parameters():
            ours = model.s2s_name(name)
            if name.endswith("in_proj_weight") or name.endswith("in_proj_bias"):
                value = np.concatenate([block(ours.replace("q_proj", p))
                                        for p in ("q_proj", "k_proj", "v_proj")])
            else:
                value = block(ours)
                if name.endswith("embedding.weight"):
                    value = value.T  # s2s (D x V), PyTorch (V x D)
            if param.dim() == 1 and value.ndim == 2 and value.shape[1] == 1:
                value = value[:, 0]  # s2s biases and vectors are (n x 1) columns
            if tuple(value.shape) != tuple(param.shape):
                raise ValueError(f"{name}: s2s {ours} has shape {value.shape}, "
                                 f"PyTorch {tuple(param.shape)}")
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    unused = sorted(set(entries) - used)
    if unused:
        raise ValueError(f"s2s parameters with no PyTorch counterpart: {', '.join(unused)}")


# ------------------------------------------------------------------------------------------------
# Decoding (lib/s2s/decoding/decoding.hpp): lengths at most floor(ratio * S_b) + extra tokens


def output_limits(lengths, ratio=2.0, extra=10):
    return [int(math.floor(ratio * n)) + extra for n in lengths.tolist()]


def greedy_search(model, src, lengths):
    """Per source: (tokens, log_prob). Rows that finished are fed PAD, as s2s."""
    B = lengths.numel()
    state = model.encode(src, lengths)
    limit = torch.tensor(output_limits(lengths))
    longest = int(limit.max())
    prev = torch.full((B,), BOS, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    log_prob = torch.zeros(B, dtype=torch.float64)
    steps = []
    for t in range(longest + 1):
        best_lp, best = model.decode_step(state, prev).max(dim=1)
        active = ~done
        is_eos = best == EOS
        finish = active & (is_eos | (limit == t))
        # At the limit the step's token is not kept and its probability not counted.
        log_prob += torch.where(active & (is_eos | ~finish), best_lp.double(), 0.0)
        steps.append(torch.where(active & ~finish, best, -1))
        done = done | finish
        prev = torch.where(done, PAD, best)
        if bool(done.all()):
            break
    tokens = torch.stack(steps, dim=1).tolist()  # (B, steps)
    return [([v for v in row if v >= 0], lp) for row, lp in zip(tokens, log_prob.tolist())]


def beam_search(model, src, lengths, K):
    """Per source: the best (tokens, log_prob) of a width-K beam, exactly decoding.hpp's algorithm
    (2K candidates per source and step, finished on </s> or at the limit, no length penalty, the
    greedy hypothesis added to the n-best list for K > 1)."""
    if K == 1:
        return greedy_search(model, src, lengths)
    B = lengths.numel()
    state = model.encode(src, lengths)
    model.reorder(state, torch.arange(B * K) // K, True)
    limit = output_limits(lengths)
    longest = max(limit)
    neg_inf = float("-inf")
    beam_lp = torch.full((B * K,), neg_inf, dtype=torch.float64)
    beam_lp[::K] = 0.0
    beam_tokens = [[] for _ in range(B * K)]
    finished = [[] for _ in range(B)]
    done = [False] * B
    prev = torch.full((B * K,), BOS, dtype=torch.long)
    for t in range(longest + 1):
        if all(done):
            break
        log_probs = model.decode_step(state, prev).double()  # (B·K, V)
        V = log_probs.shape[1]
        scores = (beam_lp.unsqueeze(1) + log_probs).view(B, K * V)
        top_lp, top_index = scores.topk(2 * K, dim=1)
        top_lp, top_index = top_lp.tolist(), top_index.tolist()
        old_lp = beam_lp.tolist()
        rows = list(range(B * K))
        next_lp = [neg_inf] * (B * K)
        next_tokens = [[] for _ in range(B * K)]
        next_prev = [PAD] * (B * K)
        for b in range(B):
            if done[b]:
                continue
            alive = 0
            at_limit = t == limit[b]
            for i in range(2 * K):
                if alive >= K or len(finished[b]) >= K or top_lp[b][i] == neg_inf:
                    break
                beam, token = divmod(top_index[b][i], V)
                source = b * K + beam
                if token == EOS or at_limit:
                    if at_limit and token != EOS:
                        if any(top_index[b][j] // V == beam for j in range(i)):
                            continue  # one finished copy per surviving beam
                        finished[b].append((beam_tokens[source], old_lp[source]))
                    else:
                        finished[b].append((beam_tokens[source], top_lp[b][i]))
                    continue
                to = b * K + alive
                rows[to] = source
                next_lp[to] = top_lp[b][i]
                next_tokens[to] = beam_tokens[source] + [token]
                next_prev[to] = token
                alive += 1
            for k in range(alive, K):
                rows[b * K + k] = b * K
            if len(finished[b]) >= K or alive == 0 or at_limit:
                done[b] = True
        beam_lp = torch.tensor(next_lp, dtype=torch.float64)
        beam_tokens = next_tokens
        prev = torch.tensor(next_prev, dtype=torch.long)
        model.reorder(state, torch.tensor(rows), False)
    greedy = greedy_search(model, src, lengths)
    best = []
    for b in range(B):
        hyps = finished[b]
        if not any(tokens == greedy[b][0] for tokens, _ in hyps):
            hyps.append(greedy[b])
        best.append(max(hyps, key=lambda h: h[1]))  # first of the highest: stable, as s2s
    return best
