"""Figures linked to their 300-dpi files in the built pages, checked on myst-nb's markup."""

from emonb.book.figures import Caption, caption_html
from emonb.book.pages import link_figure_pages, link_figures

IMG = '<img alt="../../_images/abc.png" src="../../_images/abc.png" />\n'


def _output(cap_html: str) -> str:
    return f'<div class="cell_output docutils container">\n{IMG}<div class="output text_html">{cap_html}</div></div>'


def test_a_captioned_figure_links_its_file_and_takes_its_caption_as_alt():
    cap = caption_html(Caption("Maps of `gradcam` on 3 faces & more."), "4.2",
                       "../../figures/04_saliency/fig02.png")
    page, n = link_figures("<p>before</p>" + _output(cap) + "<p>after</p>")
    assert n == 1
    assert ('<a class="emonb-figure" href="../../figures/04_saliency/fig02.png" title="open at 300 dpi">'
            '<img alt="computed Figure 4.2. Maps of gradcam on 3 faces &amp; more." '
            'src="../../_images/abc.png" /></a>') in page
    assert page.startswith("<p>before</p>") and page.endswith("<p>after</p>") and cap in page


def test_without_a_saved_file_only_the_alt_text_changes(tmp_path):
    cap = caption_html(Caption("A figure."), "2")  # live kernel: no 300-dpi file
    page, n = link_figures(_output(cap))
    assert n == 0 and 'alt="computed Figure 2. A figure."' in page and "<a class" not in page
    other = "<p>no figures</p>" + IMG
    assert link_figures(other) == (other, 0)  # an image without a caption is left alone
    (tmp_path / "a.html").write_text(_output(caption_html(Caption("x"), "1.1", "f.png")))
    (tmp_path / "b.html").write_text(other)
    assert link_figure_pages(tmp_path) == 1
    assert (tmp_path / "b.html").read_text() == other
