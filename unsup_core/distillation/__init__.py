"""Distillation and surrogate models (Hinton, Vinyals, Dean 2015) and learning using
privileged information (Vapnik & Vashist 2009; Lopez-Paz et al. 2016)."""

from .losses import (check_alpha, check_mu, check_temperature, generalized_distillation_loss,
                     hard_cross_entropy, knowledge_distillation_loss,
                     regression_distillation_loss, soft_kl, soft_targets)
from .models import (MLPClassifier, MLPClassifierConfig, agreement, classifier_from_encoder,
                     encoder_layers, inference_seconds_per_1000)
from .privileged import (GeneralizedDistillationStudent, JointPrivilegedConfig,
                         JointPrivilegedModel, degrade, joint_privileged_data,
                         privileged_data, split_privileged)
from .recipes import (PrivilegedConfig, StudentConfig, TeacherConfig, distil_student,
                      privileged_distillation, train_teacher)
from .student import (DistillationConfig, DistillationStudent, distillation_data, mixup_inputs,
                      noise_copies, surrogate_data, teacher_targets)

__all__ = [
    "PrivilegedConfig", "StudentConfig", "TeacherConfig", "distil_student",
    "privileged_distillation", "train_teacher",
    "DistillationConfig", "DistillationStudent", "GeneralizedDistillationStudent",
    "JointPrivilegedConfig", "JointPrivilegedModel", "MLPClassifier", "MLPClassifierConfig",
    "agreement", "check_alpha", "classifier_from_encoder", "encoder_layers", "check_mu", "check_temperature", "degrade", "distillation_data",
    "generalized_distillation_loss", "hard_cross_entropy", "inference_seconds_per_1000", "joint_privileged_data",
    "knowledge_distillation_loss", "mixup_inputs", "noise_copies",
    "privileged_data", "regression_distillation_loss", "soft_kl", "soft_targets",
    "split_privileged", "surrogate_data", "teacher_targets",
]
