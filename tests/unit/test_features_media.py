"""Images and documents as features: type, size and pixels read from image headers (PNG, GIF, JPEG,
WebP), PDF page counts, URL images never fetched, and hostile files handled in bounded work."""

from __future__ import annotations

import base64
import io
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.media_files import (
    data_uri,
    file_part,
    flat_pdf,
    gif,
    image_part,
    jpeg,
    jpeg_segment,
    page_objects,
    pdf,
    png,
    user_turn,
    webp_vp8,
    webp_vp8l,
    webp_vp8x,
)

from modelrouter.api.anthropic_format import parse_request, to_chat_request
from modelrouter.api.anthropic_request import MessagesRequest
from modelrouter.features import extract_features
from modelrouter.features import media as media_module
from modelrouter.features.image_headers import JPEG_SCAN_BYTES, MAX_IMAGE_SIDE, MAX_JPEG_SEGMENTS
from modelrouter.features.media import document_info, image_info
from modelrouter.features.pdf_pages import MAX_PDF_PAGES, MAX_PDF_TOKENS
from modelrouter.features.records import DocumentInfo, ImageInfo
from modelrouter.request import FilePart, ImagePart, parse_chat_request

Builder = Callable[[int, int], bytes]
FORMATS: list[tuple[str, Builder]] = [
    ("image/png", png),
    ("image/gif", gif),
    ("image/jpeg", jpeg),
    ("image/jpeg", lambda w, h: jpeg(w, h, frame=0xC2)),  # progressive
    ("image/webp", webp_vp8),
    ("image/webp", webp_vp8l),
    ("image/webp", webp_vp8x),
]
FORMAT_IDS = ["png", "gif", "jpeg-baseline", "jpeg-progressive", "webp-vp8", "webp-vp8l", "webp-vp8x"]


def image(data: bytes, media_type: str = "image/png") -> ImageInfo:
    """The image feature of ``data`` sent inline, declared as ``media_type``."""
    return image_info(ImagePart.model_validate(image_part(data_uri(media_type, data))))


def document(media_type: str, data: bytes) -> DocumentInfo:
    """The document feature of ``data`` sent inline as ``media_type``."""
    return document_info(FilePart.model_validate(file_part(media_type, data)))


def decoded_bytes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of everything base64-decoded from now on (a spy on ``base64.b64decode``)."""
    sizes: list[int] = []
    real = base64.b64decode

    def spy(text: Any, *args: Any, **kwargs: Any) -> bytes:
        out = real(text, *args, **kwargs)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(base64, "b64decode", spy)
    return sizes


@pytest.mark.parametrize(("media_type", "build"), FORMATS, ids=FORMAT_IDS)
def test_each_format_gives_its_type_size_and_dimensions(media_type: str, build: Builder) -> None:
    # Given an image of each format, sent inline (declared as PNG whatever it is)
    data = build(1234, 567)

    # When its feature is read
    info = image(data)

    # Then the type comes from its bytes, the size from the base64 length, the pixels from its header
    assert info == ImageInfo(
        source="inline", media_type=media_type, encoded_bytes=len(data), width=1234, height=567
    )
    assert info.pixels == 1234 * 567


@pytest.mark.parametrize(
    "build", [png, gif, jpeg, webp_vp8, webp_vp8l], ids=["png", "gif", "jpeg", "webp-vp8", "webp-vp8l"]
)
def test_hand_built_headers_read_as_pillow_reads_them(build: Builder) -> None:
    # Given Pillow, and a hand-built image / When both read it / Then they agree
    pil = pytest.importorskip("PIL.Image")
    data = build(321, 123)
    assert (image(data).width, image(data).height) == pil.open(io.BytesIO(data)).size


@settings(max_examples=40, deadline=None)
@given(
    size=st.tuples(st.integers(1, 700), st.integers(1, 700)),
    written=st.sampled_from(
        [
            ("PNG", "RGB", {}),
            ("GIF", "P", {}),
            ("JPEG", "RGB", {}),
            ("JPEG", "RGB", {"progressive": True, "exif": b"Exif\0\0" + b"II*\0" + b"\0" * 40_000}),
            ("WEBP", "RGB", {}),
            ("WEBP", "RGBA", {}),
            ("WEBP", "RGB", {"lossless": True}),
        ]
    ),
)
def test_dimensions_agree_with_pillow_on_files_it_writes(
    size: tuple[int, int], written: tuple[str, str, dict[str, Any]]
) -> None:
    # Given a file Pillow wrote (an Exif block before a JPEG's frame, VP8X for WebP with alpha)
    pil = pytest.importorskip("PIL.Image")
    file_format, mode, options = written
    buffer = io.BytesIO()
    pil.new(mode, size).save(buffer, file_format, **options)

    # When read from its header / Then the dimensions are Pillow's
    info = image(buffer.getvalue())
    assert (info.width, info.height) == size
    assert info.media_type == f"image/{file_format.lower()}"


def test_a_url_image_is_counted_but_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no network at all: any connection or name lookup is recorded and refused
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("no network in this test")

    for target, name in ((socket.socket, "connect"), (socket, "create_connection"), (socket, "getaddrinfo")):
        monkeypatch.setattr(target, name, refuse)
    body = user_turn(image_part("https://images.example.com/scan.png", "high"))

    # When the features are extracted
    features = extract_features(parse_chat_request(body))

    # Then the image is counted with nothing else known, and nothing was fetched
    assert features.images == (ImageInfo(source="url"),)
    assert (features.image_count, features.image_bytes, features.image_max_pixels) == (1, 0, None)
    assert attempts == []


def test_images_are_as_many_as_the_image_count_in_every_message() -> None:
    # Given images in two user messages, one by URL, and a file
    first = user_turn(image_part(data_uri("image/png", png(10, 20))), file_part("text/plain", b"notes"))
    body = {
        "messages": [
            *first["messages"],
            {"role": "assistant", "content": "Seen."},
            {"role": "user", "content": [image_part("https://a.example/b.png"), image_part(data_uri(
                "image/gif", gif(30, 40)))]},
        ]
    }  # fmt: skip
    request = parse_chat_request(body)

    # When extracted
    features = extract_features(request)

    # Then each image is there in order, and the count agrees with the messages' own count
    assert [(i.source, i.width) for i in features.images] == [("inline", 10), ("url", None), ("inline", 30)]
    assert features.image_count == len(features.images) == sum(m.images() for m in request.messages)
    assert features.image_max_pixels == 30 * 40
    assert features.documents == (DocumentInfo(source="inline", media_type="text/plain", encoded_bytes=5),)


def test_anthropic_image_blocks_arrive_as_images() -> None:
    # Given a Messages API request with an inline image block and a URL one
    data = jpeg(800, 600)
    inline = {"type": "base64", "media_type": "image/jpeg", "data": base64.b64encode(data).decode()}
    blocks = [
        {"type": "image", "source": inline},
        {"type": "image", "source": {"type": "url", "url": "https://a.example/c.png"}},
        {"type": "text", "text": "What is on these?"},
    ]
    document = {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": blocks}]}

    # When translated into the chat request and extracted
    translated = to_chat_request(parse_request(json.dumps(document).encode(), MessagesRequest))
    features = extract_features(parse_chat_request(translated.body))

    # Then both are images, the inline one with its size and pixels
    assert features.images == (
        ImageInfo(source="inline", media_type="image/jpeg", encoded_bytes=len(data), width=800, height=600),
        ImageInfo(source="url"),
    )


def test_the_type_is_the_bytes_not_the_declared_one() -> None:
    # Given a JPEG declared as a PNG, and bytes of no known image type
    assert image(jpeg(5, 6), "image/png").media_type == "image/jpeg"
    unknown = image(b"BM" + b"\0" * 60)

    # Then the unknown one has its size and nothing else
    assert unknown == ImageInfo(source="inline", encoded_bytes=62)


def test_base64_with_line_breaks_is_read_like_without() -> None:
    # Given a PNG's base64 wrapped at 76 characters (MIME style)
    data = png(640, 480)
    text = base64.encodebytes(data).decode()
    part = ImagePart.model_validate(image_part(f"data:image/png;base64,{text}"))

    # Then its size and pixels are those of the file
    assert image_info(part) == image(data)


@pytest.mark.parametrize(
    "text", ["@@@@not base64@@@@", "iVBORw0KGgo=AAAA", "A"], ids=["alphabet", "padding-inside", "one-char"]
)
def test_bad_base64_makes_an_image_unknown(text: str) -> None:
    # Given an inline image whose base64 is broken / Then it counts, with nothing else known
    part = ImagePart.model_validate(image_part(f"data:image/png;base64,{text}"))
    assert image_info(part) == ImageInfo(source="inline")


@pytest.mark.parametrize(("media_type", "build"), FORMATS, ids=FORMAT_IDS)
def test_a_cut_header_never_raises_nor_invents_dimensions(media_type: str, build: Builder) -> None:
    # Given every prefix of an image file
    data = build(300, 200)
    for cut in range(len(data)):
        # When read / Then the dimensions are the true ones or unknown, never something else
        info = image(data[:cut])
        assert (info.width, info.height) in {(300, 200), (None, None)}, cut
        assert info.encoded_bytes == cut


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(2**31 - 1, 2**31 - 1, pixels=False), (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE)),
        (png(0, 500, pixels=False), (None, 500)),
        (webp_vp8x(2**24, 2**24), (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE)),
        (jpeg(0, 0), (None, None)),
    ],
    ids=["png-2^31", "png-zero-width", "webp-2^24", "jpeg-zero"],
)
def test_absurd_dimensions_are_clamped_and_zero_is_unknown(
    data: bytes, expected: tuple[int | None, int | None]
) -> None:
    # Given a header claiming a side beyond any image, or none / Then it is clamped, or unknown
    info = image(data)
    assert (info.width, info.height) == expected


@pytest.mark.parametrize(
    "before_frame",
    [
        jpeg_segment(0xFE, b"") * (MAX_JPEG_SEGMENTS + 1),
        b"\xff\xd0" * (MAX_JPEG_SEGMENTS + 1),
        jpeg_segment(0xE1, b"\0" * 65_000) * (JPEG_SCAN_BYTES // 65_000 + 1),
        b"\xff" * (JPEG_SCAN_BYTES + 1),
    ],
    ids=["endless-comments", "endless-restarts", "frame-past-the-scan-limit", "endless-fill"],
)
def test_a_jpeg_whose_frame_is_too_far_has_unknown_dimensions(before_frame: bytes) -> None:
    # Given a JPEG whose frame header comes after too many segments or too many bytes
    info = image(jpeg(640, 480, before_frame=before_frame))

    # Then the reader gave up: a JPEG of unknown dimensions
    assert (info.media_type, info.width, info.height) == ("image/jpeg", None, None)


def test_a_jpeg_frame_after_large_exif_and_icc_segments_is_found() -> None:
    # Given a camera-style JPEG: three big metadata segments before the frame, within the scan limit
    metadata = jpeg_segment(0xE1, b"Exif\0\0" + b"\0" * 60_000) + jpeg_segment(0xE2, b"\0" * 60_000) * 2
    assert len(metadata) < JPEG_SCAN_BYTES

    # Then its dimensions are read
    assert image(jpeg(4032, 3024, before_frame=metadata)).pixels == 4032 * 3024


@pytest.mark.parametrize(("media_type", "build"), FORMATS, ids=FORMAT_IDS)
def test_a_20_mb_image_decodes_only_its_header(
    media_type: str, build: Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 20 MB image of each format, and a spy on base64 decoding
    data = build(6000, 4000) + b"\0" * 20_000_000
    part = ImagePart.model_validate(image_part(data_uri(media_type, data)))
    decoded = decoded_bytes(monkeypatch)

    # When its feature is read
    info = image_info(part)

    # Then its size and pixels are known, and at most a JPEG's scan prefix was decoded
    assert (info.encoded_bytes, info.pixels) == (len(data), 6000 * 4000)
    assert sum(decoded) <= JPEG_SCAN_BYTES + 64


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBPVP8X", b""]),
    rest=st.binary(max_size=300),
)
def test_any_bytes_give_a_sane_image_feature(prefix: bytes, rest: bytes) -> None:
    # Given any bytes after an image signature / When read / Then no error, and sane dimensions
    info = image(prefix + rest)
    for side in (info.width, info.height):
        assert side is None or 1 <= side <= MAX_IMAGE_SIDE


def nested_pdf() -> bytes:
    """A root (2) over two intermediate nodes (3: 10 pages, 4: 20 pages), then the pages."""
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 30 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [5 0 R] /Count 10 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [6 0 R] /Count 20 >>",
            *page_objects(1, parent=3),
            *page_objects(1, parent=4),
        ]
    )


def updated_pdf() -> bytes:
    """A 3-page PDF with an incremental update appending a new root of 4 pages and the new page."""
    update = b"2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R 6 0 R] /Count 4 >>\nendobj\n"
    update += b"6 0 obj\n" + page_objects(1)[0] + b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    return flat_pdf(3) + update


@pytest.mark.parametrize(
    ("data", "pages"),
    [
        (flat_pdf(30), 30),
        (flat_pdf(1), 1),
        (nested_pdf(), 30),
        (updated_pdf(), 4),
        (pdf([b"<< /Type /Catalog >>", b"<< /Count 7 /Kids [] /Type/Pages >>"]), 7),
        (pdf([b"<< /Type /Catalog >>", b"<< /Type /Pages >>", *page_objects(5)]), 5),
        (pdf([b"<< /Type /Catalog >>", b"<< /Type /Pages /Count 99999999999 >>"]), MAX_PDF_PAGES),
        (pdf([b"<< /Type /Catalog >>", b"<< /Type /ObjStm /N 40 /First 300 >>", *page_objects(2)]), None),
        (pdf([b"<< /Type /Catalog >>", *page_objects(5)])[:-200], None),
        (b"%PDF-1.4\n" + b"1 0 obj << /Type /Page >> endobj\n" * (MAX_PDF_TOKENS // 2 + 1) + b"%%EOF", None),
        (b"Hello, this is no PDF", None),
    ],
    ids=[
        "flat-30", "flat-1", "nested-tree", "incremental-update", "count-first", "no-count-pages-counted",
        "absurd-count", "object-stream", "cut-short-pages-not-counted", "endless-markers", "not-a-pdf",
    ],
)  # fmt: skip
def test_pdf_pages_are_read_where_cheap(data: bytes, pages: int | None) -> None:
    # Given a PDF (or not) sent inline / When read / Then its page count, or None where not cheap
    assert document("application/pdf", data) == DocumentInfo(
        source="inline", media_type="application/pdf", encoded_bytes=len(data), pages=pages
    )


@pytest.mark.parametrize(
    ("root_at", "pages"), [("head", 12), ("tail", 12), ("middle", None)], ids=["head", "tail", "middle"]
)
def test_a_pdf_too_large_to_scan_whole_is_read_at_both_ends(
    root_at: str, pages: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a scan limit of 4 KB with 1 KB windows, and 12-page PDFs padded to about 16 KB
    monkeypatch.setattr(media_module, "PDF_SCAN_BYTES", 4_096)
    monkeypatch.setattr(media_module, "PDF_WINDOW_BYTES", 1_024)
    kids = b" ".join(b"%d 0 R" % n for n in range(3, 15))
    root = b"<< /Type /Pages /Kids [%s] /Count 12 >>" % kids
    catalog, padding = b"<< /Type /Catalog /Pages 2 0 R >>", b"%" + b"-" * 8_000 + b"\n"
    data = {
        "head": pdf([catalog, root, *page_objects(12)], filler=padding * 2, filler_after=2),
        "tail": pdf([catalog, *page_objects(12), root], filler=padding * 2),
        "middle": pdf([catalog, root, *page_objects(12)], filler=padding) + padding + b"%%EOF\n",
    }[root_at]
    assert len(data) > 4_096

    # When read / Then the page tree root is found in either window, not in between
    assert document("application/pdf", data).pages == pages


def test_a_20_mb_pdf_decodes_only_its_two_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 20 MB PDF whose page tree root is near its start, and a spy on base64 decoding
    data = pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count 250 >>"])
    data += b"%" + b"\0" * 20_000_000 + b"\n%%EOF\n"
    part = FilePart.model_validate(file_part("application/pdf", data))
    decoded = decoded_bytes(monkeypatch)

    # When read / Then its pages are known, and only its head and tail were decoded
    assert document_info(part).pages == 250
    assert sum(decoded) <= 2 * media_module.PDF_WINDOW_BYTES + 8


def test_documents_by_id_or_of_other_types_say_what_is_known() -> None:
    # Given a file by OpenAI file id, a text file, and file_data that is no data URI
    by_id = FilePart.model_validate({"type": "file", "file": {"file_id": "file-abc"}})
    bare = FilePart.model_validate({"type": "file", "file": {"file_data": "JVBERi0xLjQK"}})

    # Then each is a document, with what can be known
    assert document_info(by_id) == DocumentInfo(source="file_id")
    assert document("text/CSV", b"a,b\n1,2\n") == DocumentInfo(
        source="inline", media_type="text/csv", encoded_bytes=8
    )
    assert document_info(bare) == DocumentInfo(source="inline")
