"""The data sets of statsmodels' mixed-model tutorial examples, simulated as the tutorial
does (students within schools, patients within clinics), with fixed seeds.

Shared by the tests and by ``make_statsmodels_reference.py``, which stores statsmodels'
estimates on the same data in ``data/statsmodels_tutorial.json``. numpy's
``default_rng`` streams are stable across numpy versions, so the data are the same
wherever they are generated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def schools(seed: int = 2024, n_schools: int = 30, n_students: int = 24) -> pd.DataFrame:
    """Test scores of students within schools (integer school IDs) and classes within
    schools: a school intercept and slope for study hours, a class intercept."""
    rng = np.random.default_rng(seed)
    n = n_schools * n_students
    school_id = np.repeat(np.arange(101, 101 + n_schools), n_students)
    s = school_id - 101
    class_id = rng.integers(1, 4, n)
    study_hours = rng.uniform(0, 10, n).round(2)
    u0 = rng.normal(0, 5.0, n_schools)
    u1 = rng.normal(0, 0.8, n_schools)
    uc = rng.normal(0, 3.0, (n_schools, 3))
    noise = rng.normal(0, 6.0, n)
    test_score = 60 + 2.5 * study_hours + u0[s] + u1[s] * study_hours + uc[s, class_id - 1] + noise
    return pd.DataFrame({
        "school_id": school_id,
        "class_id": class_id,
        "study_hours": study_hours,
        "test_score": test_score.round(3),
    })


def clinics(seed: int = 7, n_clinics: int = 16, n_patients: int = 20) -> pd.DataFrame:
    """Blood pressure of patients within clinics: a treatment effect, age and sex; clinics
    differ in their baseline."""
    rng = np.random.default_rng(seed)
    n = n_clinics * n_patients
    clinic = np.repeat([f"clinic_{i:02d}" for i in range(1, n_clinics + 1)], n_patients)
    c = np.repeat(np.arange(n_clinics), n_patients)
    treatment = np.where(rng.random(n) < 0.5, "drug", "placebo")
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    age = rng.integers(30, 80, n).astype(float)
    baseline = rng.normal(0, 6.0, n_clinics)
    bp = (150 - 8.0 * (treatment == "drug") + 0.4 * (age - 55) + 0.01 * (age - 55) ** 2
          + 3.0 * (sex == "M") + baseline[c] + rng.normal(0, 7.0, n))
    return pd.DataFrame({
        "clinic": clinic,
        "treatment": treatment,
        "sex": sex,
        "age": age,
        "blood_pressure": bp.round(2),
    })


def new_students() -> pd.DataFrame:
    """Students to predict for: two known schools and one that was not in the data."""
    return pd.DataFrame({
        "school_id": [101, 105, 999],
        "study_hours": [2.0, 8.0, 5.0],
        "class_id": [1, 2, 3],
    })


# The tutorial's examples: name -> (mixedlm arguments, fit arguments)
EXAMPLES = {
    "random_intercepts": ("schools", dict(formula="test_score ~ study_hours", groups="school_id"), {}),
    "random_slopes": ("schools", dict(formula="test_score ~ study_hours", groups="school_id",
                                      re_formula="~study_hours"), {}),
    "powell": ("schools", dict(formula="test_score ~ study_hours", groups="school_id",
                               re_formula="~study_hours"), {"method": "powell"}),
    "intercepts_ml": ("schools", dict(formula="test_score ~ study_hours", groups="school_id"),
                      {"reml": False}),
    "slopes_ml": ("schools", dict(formula="test_score ~ study_hours", groups="school_id",
                                  re_formula="~study_hours"), {"reml": False}),
    "clinic": ("clinics", dict(formula="blood_pressure ~ treatment + age + sex", groups="clinic"), {}),
    "clinic_derived": ("clinics", dict(formula="blood_pressure ~ C(treatment, Treatment('placebo')) + sex + I(age ** 2) + np.log(age)",
                                       groups="clinic"), {}),
    "classes_vc": ("schools", dict(formula="test_score ~ study_hours", groups="school_id",
                                   re_formula="1", vc_formula={"class": "0 + C(class_id)"}), {}),
    "classes_vc_only": ("schools", dict(formula="test_score ~ study_hours", groups="school_id",
                                        vc_formula={"class": "0 + C(class_id)"}), {}),
    # 600 schools with a slope each: 1,200 random effects, more than any dense algebra takes
    "many_schools_slopes": ("many_schools", dict(formula="test_score ~ study_hours", groups="school_id",
                                                 re_formula="~study_hours"), {}),
}


def many_schools() -> pd.DataFrame:
    """The schools data with 600 schools of 8 students."""
    return schools(seed=11, n_schools=600, n_students=8)


DATA = {"schools": schools, "clinics": clinics, "many_schools": many_schools}
