"""Sine gratings: the TDANN grid, orientation/SF recovered by FFT, colours, errors."""

import itertools

import numpy as np
import pytest

from topoanalysis.stimuli import StimulusSet, default_sfs_cpd, make_sine_gratings, nyquist_cpd
from topoanalysis.stimuli.gratings import COLORS, DEFAULT_ORIENTATIONS_DEG, DEFAULT_PHASES_RAD

METHODS_SFS_CPD = [0.69, 2.32, 3.95, 5.59, 7.22, 8.85, 10.48, 12.12]


@pytest.fixture(scope="module")
def default_set() -> StimulusSet:
    return make_sine_gratings()


def peak_cycles(grey: np.ndarray) -> tuple[int, int]:
    """(kx, ky) in cycles per image of the strongest FFT peak, with y up, orientation in [0, 180)."""
    n = grey.shape[0]
    power = np.abs(np.fft.fft2(grey.astype(np.float64) - grey.mean()))
    row, col = np.unravel_index(np.argmax(power), power.shape)
    freqs = np.fft.fftfreq(n, d=1.0 / n).round().astype(int)
    kx, ky = freqs[col], -freqs[row]  # image rows go down, so y_up = -row
    if ky < 0 or (ky == 0 and kx < 0):  # a real image has both +k and -k peaks
        kx, ky = -kx, -ky
    return int(kx), int(ky)


def test_default_set_matches_methods(default_set):
    s = default_set
    assert s.name == "sine_gratings" and s.degrees == 8.0
    assert s.images.shape == (640, 224, 224, 3) and s.images.dtype == np.uint8
    np.testing.assert_array_equal(np.unique(s.labels.sf_cpd).round(2), METHODS_SFS_CPD)
    np.testing.assert_array_equal(default_sfs_cpd(224, 8.0).round(2), METHODS_SFS_CPD)
    assert nyquist_cpd(224, 8.0) == 14.0
    combos = set(zip(s.labels.orientation_deg, s.labels.sf_index, s.labels.phase_rad, s.labels.color))
    expected = set(itertools.product(DEFAULT_ORIENTATIONS_DEG, range(8), DEFAULT_PHASES_RAD, COLORS))
    assert combos == expected
    assert s.labels.stimulus_id.is_unique
    assert s.labels.stimulus_id[0] == "grating_o000.0_sf0.69_p0.00_bw"
    # order: orientation outermost, then sf, phase, colour
    assert list(s.labels.color[:2]) == ["bw", "red_cyan"]
    assert list(s.labels.color_index[:2]) == [0, 1]
    assert s.labels.phase_rad[2] == pytest.approx(DEFAULT_PHASES_RAD[1])
    assert s.labels.sf_index[10] == 1 and s.labels.orientation_deg[80] == 22.5
    row = s.labels.iloc[80 + 10 + 2]
    assert row.stimulus_id == "grating_o022.5_sf2.32_p1.26_bw"
    assert s.images.min() == 0 and s.images.max() == 255


def test_smaller_image_keeps_fraction_of_nyquist():
    ratio_224 = default_sfs_cpd(224, 8.0) / nyquist_cpd(224, 8.0)
    np.testing.assert_allclose(default_sfs_cpd(32, 8.0) / nyquist_cpd(32, 8.0), ratio_224)
    s = make_sine_gratings(32, 8.0)
    assert s.images.shape == (640, 32, 32, 3)


# (kx, ky) integer cycles per image: the grating is exactly periodic on the pixel grid
@pytest.mark.parametrize("kx, ky", [(10, 0), (0, 7), (6, 6), (12, 5), (-9, 4), (3, 20), (-15, 15)])
def test_fft_recovers_exact_orientation_and_sf(kx, ky):
    size_px, degrees = 64, 4.0
    theta_deg = np.degrees(np.arctan2(ky, kx)) % 180
    sf_cpd = np.hypot(kx, ky) / degrees
    s = make_sine_gratings(size_px, degrees, orientations_deg=[theta_deg], sfs_cpd=[sf_cpd],
                           phases_rad=[0.7], colors=["bw"])
    assert peak_cycles(s.images[0, :, :, 0]) == (kx, ky)


# index = 80 * orientation_index + 10 * sf_index (phase 0, bw)
@pytest.mark.parametrize("index", [0, 80 + 10, 3 * 80 + 4 * 10, 7 * 80 + 7 * 10, 5 * 80 + 2 * 10])
def test_fft_recovers_default_orientation_and_sf(default_set, index):
    row = default_set.labels.iloc[index]
    kx, ky = peak_cycles(default_set.images[index, :, :, 0])
    theta = np.radians(row.orientation_deg)
    cycles = row.sf_cpd * default_set.degrees
    # peak within one FFT bin of the requested wave vector (both components)
    assert abs(kx - cycles * np.cos(theta)) <= 1 and abs(ky - cycles * np.sin(theta)) <= 1
    bin_cpd = 1.0 / default_set.degrees
    assert np.hypot(kx, ky) / default_set.degrees == pytest.approx(row.sf_cpd, abs=1.5 * bin_cpd)
    got_deg = np.degrees(np.arctan2(ky, kx)) % 180
    diff_deg = (got_deg - row.orientation_deg + 90) % 180 - 90
    assert abs(diff_deg) <= np.degrees(1.5 / cycles)


def test_orientation_zero_is_vertical_stripes_and_ccw_rotation():
    s = make_sine_gratings(32, 8.0, orientations_deg=[0, 90, 45], sfs_cpd=[0.5], phases_rad=[0],
                           colors=["bw"])
    vertical, horizontal, diagonal = (s.images[i, :, :, 0].astype(int) for i in range(3))
    assert np.all(vertical == vertical[:1]) and np.ptp(vertical) > 200  # constant down each column
    assert np.all(horizontal == horizontal[:, :1]) and np.ptp(horizontal) > 200  # constant along rows
    # 45 deg: wave vector up-right, so stripes run from top-left to bottom-right
    assert np.all(diagonal.diagonal() == diagonal[0, 0])
    assert np.ptp(diagonal[::-1].diagonal()) > 200


def test_wave_vector_direction_y_up():
    # under a quarter cycle across the half image, so the value rises along the wave vector
    s = make_sine_gratings(32, 8.0, orientations_deg=[0, 90, 45, 135], sfs_cpd=[0.05], phases_rad=[0],
                           colors=["bw"])
    right, up, up_right, up_left = (s.images[i, :, :, 0].astype(int) for i in range(4))
    assert np.all(np.diff(right, axis=1) >= 0) and right[0, -1] > right[0, 0] + 50
    assert np.all(np.diff(up, axis=0) <= 0) and up[0, 0] > up[-1, 0] + 50  # row 0 is the top
    assert up_right[0, -1] > up_right[16, 16] > up_right[-1, 0]
    assert up_left[0, 0] > up_left[16, 16] > up_left[-1, -1]


def test_red_cyan_channels(default_set):
    labels = default_set.labels
    rc = default_set.images[labels.index[labels.color == "red_cyan"]]
    bw = default_set.images[labels.index[labels.color == "bw"]]
    assert np.abs(rc[..., 0].astype(np.int16) + rc[..., 1] - 255).max() <= 1
    np.testing.assert_array_equal(rc[..., 1], rc[..., 2])
    np.testing.assert_array_equal(bw[..., 0], bw[..., 1])
    np.testing.assert_array_equal(bw[..., 0], bw[..., 2])
    np.testing.assert_array_equal(rc[..., 0], bw[..., 0])  # same grating in the red channel


def test_phase_shift_moves_pattern():
    size_px, cycles, shift_px = 64, 4, 3  # period 16 px
    phases = [0.0, 2 * np.pi * cycles * shift_px / size_px, np.pi]
    s = make_sine_gratings(size_px, 8.0, orientations_deg=[0], sfs_cpd=[cycles / 8.0], phases_rad=phases,
                           colors=["bw"])
    base, shifted, inverted = (s.images[i, :, :, 0].astype(int) for i in range(3))
    assert np.abs(base - shifted).max() > 100
    # sin(2 pi f x + phi) = sin(2 pi f (x + dx)): the pattern moves left by shift_px
    assert np.abs(shifted - np.roll(base, -shift_px, axis=1)).max() <= 1
    assert np.abs(inverted - (255 - base)).max() <= 1


def test_contrast_scales_amplitude():
    kwargs = dict(orientations_deg=[30], sfs_cpd=[0.6], phases_rad=[0.3], colors=["bw"])
    full = make_sine_gratings(32, 8.0, contrast=1.0, **kwargs).images[0, :, :, 0].astype(float)
    half = make_sine_gratings(32, 8.0, contrast=0.5, **kwargs).images[0, :, :, 0].astype(float)
    assert np.abs((half - 127.5) - 0.5 * (full - 127.5)).max() <= 1.0
    assert np.ptp(full) > 240


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(image_size_px=32, sfs_cpd=METHODS_SFS_CPD),
         r"Nyquist limit of 2\.000 cpd.*larger image_size_px, fewer degrees, or lower frequencies"),
        (dict(sfs_cpd=[14.0]), r"\[14\.0\].*Nyquist"),
        (dict(sfs_cpd=[0.0, 1.0]), r"sfs_cpd must all be > 0"),
        (dict(sfs_cpd=[-1.0]), r"> 0"),
        (dict(sfs_cpd=[]), r"sfs_cpd must be a non-empty"),
        (dict(orientations_deg=[]), r"orientations_deg must be a non-empty"),
        (dict(phases_rad=[]), r"phases_rad must be a non-empty"),
        (dict(colors=[]), r"colors must be a non-empty"),
        (dict(colors=["bw", "green"]), r"unknown colors \['green'\].*'bw', 'red_cyan'"),
        (dict(contrast=0.0), r"contrast must be in \(0, 1\], got 0\.0"),
        (dict(contrast=1.5), r"contrast must be in \(0, 1\], got 1\.5"),
        (dict(image_size_px=4), r"image_size_px must be at least 8, got 4"),
        (dict(orientations_deg=[0, 0]), r"duplicate"),
    ],
)
def test_bad_inputs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_sine_gratings(**kwargs)
