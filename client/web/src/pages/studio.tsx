// The broadcaster's studio, /studio.
import { mount } from '../mount';
import { Studio } from '../studio';

mount(<Studio />);
