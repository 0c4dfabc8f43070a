"""IT analysis on planted sheets: two face blobs, silent units, generalisation."""

import numpy as np
import pytest

from topoanalysis.metrics.activity import SilentLayerError
from topoanalysis.metrics.it import ITParams, floc_selectivity, it_analysis
from topoanalysis.testing import planted_it_recording

CENTRES = np.array([[20.0, 25.0], [50.0, 45.0]])
PARAMS = ITParams(n_samples=4, sample_size=400)


def two_blob_sheet(seed=0, n_units=4000):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 70, (n_units, 2))
    distance2 = ((xy[:, None, :] - CENTRES[None]) ** 2).sum(-1)
    gain = 0.6 * np.exp(-distance2 / (2 * 4.0**2)).sum(1)
    return xy, gain, rng


@pytest.fixture(scope="module")
def planted():
    xy, gain, rng = two_blob_sheet()
    ds = planted_it_recording(xy, gain, rng=rng)
    rsa92 = planted_it_recording(xy, gain, rng=rng, stimulus_set="rsa92")
    return xy, gain, ds, it_analysis(ds, "IT", PARAMS, rng=np.random.default_rng(0), rsa92=rsa92)


def test_two_face_blobs_give_two_face_patches_at_the_planted_centres(planted):
    _, _, _, result = planted
    faces = result.patches[result.patches["domain"] == "faces"]
    assert len(faces) == 2
    found = faces[["centroid_x_mm", "centroid_y_mm"]].to_numpy()
    distance = np.linalg.norm(found[:, None, :] - CENTRES[None], axis=-1).min(axis=1)
    assert distance.max() < 70 / 99  # within one step of the 100 x 100 smoothing grid
    assert (faces["area_mm2"] > 100).all() and (faces["n_units"] >= 10).all()
    assert len(result.outlines) == len(result.patches)
    assert result.summary["n_patches_faces"] == 2
    assert result.summary["n_patches_places"] == 0  # the other domains have no blob


def test_t_map_peaks_at_the_blobs_and_is_smooth(planted):
    xy, gain, _, result = planted
    t_faces = result.tvalues["t_faces"].to_numpy()
    assert np.corrcoef(t_faces, gain)[0, 1] > 0.8
    smooth = result.smoothness.set_index("domain")
    assert smooth.loc["faces", "smoothness"] > 0.5 > 0.1 > smooth.loc["faces", "chance"]
    assert set(result.selectivity_curves["domain"]) == {"faces", "bodies", "characters", "places", "objects"}


def test_overlap_matrix_is_full_with_unit_diagonal(planted):
    _, _, _, result = planted
    overlap = result.overlap
    assert len(overlap) == 3 * 25
    pearson = overlap[overlap["method"] == "tmap_pearson"]
    diagonal = pearson[pearson["domain_a"] == pearson["domain_b"]]
    np.testing.assert_allclose(diagonal["value"], 1.0)
    assert result.summary["overlap_window_mm"] == pytest.approx(7.0)


def test_generalization_to_the_92_image_faces(planted):
    _, _, _, result = planted
    faces = result.generalization.set_index("domain").loc["faces"]
    assert faces["correlation"] > 0.8
    assert faces["mean_t92_in_patches"] > faces["mean_t92_outside"] + 2


def test_silent_units_are_flagged_not_zero():
    xy, gain, rng = two_blob_sheet(n_units=500)
    ds = planted_it_recording(xy, gain, rng=rng)
    ds["responses"][:, :7] = 0.0
    table = floc_selectivity(ds["responses"])
    assert table["silent"].sum() == 7
    assert table.loc[:6, "t_faces"].isna().all() and table.loc[7:, "t_faces"].notna().all()


def test_sparse_layers_get_wider_overlap_windows():
    params = ITParams()
    assert params.overlap_window_for(25088, 4900.0) == 7.0
    assert params.overlap_window_for(128, 4900.0) == pytest.approx(np.sqrt(12 * 4900 / 128))
    assert ITParams(widen_sparse_windows=False).overlap_window_for(128, 4900.0) == 7.0


def test_bad_inputs_are_named():
    xy, gain, rng = two_blob_sheet(n_units=300)
    ds = planted_it_recording(xy, gain, rng=rng)
    silent = ds.copy(deep=True)
    silent["responses"][:] = 0
    with pytest.raises(SilentLayerError, match="IT is silent"):
        it_analysis(silent, "IT", PARAMS, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="no 'domain' stimulus labels"):
        floc_selectivity(ds["responses"].drop_vars("domain"))
    with pytest.raises(ValueError, match="t_ddof"):
        ITParams(t_ddof=2)
