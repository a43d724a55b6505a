import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emonb.plotting.selection import plot_seed_curves  # noqa: E402


def test_seed_curves_draw_every_seed_and_the_mean():
    runs = {s: {"epochs": [{"val_macro_f1": v} for v in vals]}
            for s, vals in {"0": [0.1, 0.3], "1": [0.3, 0.5]}.items()}  # fmt: skip
    ax = plot_seed_curves({"runs": {"a": runs}})
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_allclose(lines[-1].get_ydata(), [0.2, 0.4])
    assert ax.get_legend().get_texts()[0].get_text() == "a (2 seeds)"
    plt.close("all")
