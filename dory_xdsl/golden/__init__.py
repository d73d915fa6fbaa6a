"""Golden data: DORY's text folders (`dory_dir`: read and check `input.txt` / `out_layer<N>.txt`;
`writer`), DORY's layer numbering (`numbering`) and TFLite golden `.npz` files (`npz`, which runs
an engine over every case).

May import: the engines and everything below them; never the generators or drivers.
"""
